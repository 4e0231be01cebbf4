"""`output NAME = attention_weights(NODE)`: the type it infers ([B, L] of the node's masked input)
and its located errors, with their exact texts and spans."""
from __future__ import annotations

from pathlib import Path

import pytest

from recdsl.ops import load
from recdsl.ops.types import shape_text

from .. import spec_check

PRELUDE = (
    "model m\n"
    "feature item : id(buckets=10, dim=4)\n"
    "feature hist : sequence(of=item, max_len=5)\n"
    "pool interest = din(query=item, keys=hist, units=[6])\n"
    "pool seen = avg(hist)\n"
    "block deep = mlp([item, interest, seen], units=[4])\n"
    "output click = sigmoid(deep)\n"
)
# the statement under test is on line 8


def checked(tmp_path: Path, body: str):
    return spec_check.checked(tmp_path, PRELUDE + body)


def only_error(tmp_path: Path, body: str):
    return spec_check.only_error(tmp_path, PRELUDE + body)


@pytest.mark.parametrize("node, length", [
    ("pool a = attention(query=item, keys=hist)", 5),
    ("pool a = traditional_attention(hist)", 5),
    ("block a = self_attention(hist, heads=2)", 5),
    ("block a = self_attention([item, seen], heads=2)", 2),
    ("block a = cross_attention(query=hist, keys=hist, heads=2)", 5),
])
def test_every_attention_op_gives_weights_over_its_positions(tmp_path, node, length):
    spec = checked(tmp_path, f"{node}\noutput w = attention_weights(a)\n")
    out = spec.node("w")
    assert shape_text(out.type) == f"[B, {length}]" and out.params == 0
    assert out.type.describe == "attention weights"


def test_din_weights_type(tmp_path):
    spec = checked(tmp_path, "output w = attention_weights(interest)\n")
    assert shape_text(spec.node("w").type) == "[B, 5]"
    assert spec.node("w").upstream == ("interest",)


def test_not_an_attention_node(tmp_path):
    err = only_error(tmp_path, "output w = attention_weights(deep)\n")
    ops = sorted(name for name, spec in load().items() if spec.attention is not None)
    assert {"din", "attention", "traditional_attention", "self_attention", "cross_attention"} <= set(ops)
    assert err.message == ("`deep` is a vector [B, 4], not an attention node; attention_weights reads the weights "
                           f"of {', '.join(ops[:-1])} or {ops[-1]}")
    assert err.hint == "attention nodes: `interest`"
    assert (err.span.line, err.span.column) == (8, 30)


def test_not_an_attention_node_suggests_the_closest(tmp_path):
    err = only_error(tmp_path, "pool interests = avg(hist)\noutput w = attention_weights(interests)\n")
    assert err.message.startswith("`interests` is an embedding field [B, 4], not an attention node;")
    assert err.hint == "did you mean `interest`?"
    assert (err.span.line, err.span.column) == (9, 30)


def test_a_feature_is_not_an_attention_node(tmp_path):
    err = only_error(tmp_path, "output w = attention_weights(hist)\n")
    assert err.message.startswith("`hist` is a sequence [B, 5, 4], not an attention node;")


def test_an_inline_attention_call_is_refused(tmp_path):
    err = only_error(tmp_path, "output w = attention_weights(din(query=item, keys=hist))\n")
    assert err.message == "attention_weights reads a named attention node, not an inline `din(...)` call"
    assert err.hint == "declare it, e.g. `pool w_att = din(...)`, use it in the model, and pass its name"
    assert (err.span.line, err.span.column) == (8, 30)


def test_one_node_only(tmp_path):
    err = only_error(tmp_path, "output w = attention_weights([interest, interest])\n")
    assert err.message == "attention_weights reads one attention node, got a list of 2"
    assert err.hint == "write one output per attention node"


def test_a_misspelt_name(tmp_path):
    err = only_error(tmp_path, "output w = attention_weights(intrest)\n")
    assert err.message == "undefined name `intrest`" and err.hint == "did you mean `interest`?"
    assert (err.span.line, err.span.column) == (8, 30)


def test_weights_cannot_feed_a_product(tmp_path):
    err = only_error(tmp_path, "output w = attention_weights(interest)\noutput x = product(click, w)\n")
    assert err.message == ("`w` is attention weights [B, 5]; product multiplies the probabilities of "
                           "sigmoid outputs")
