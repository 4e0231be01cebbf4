"""Malformed specs: every mistake is one SpecError with the right message, line, column and hint,
rendered rustc-style, and the CLI prints it without a traceback."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

import recdsl
from recdsl.cli.main import main
from recdsl.lang.errors import SHOWN_WIDTH, SpecErrors

# Lines 1-6 of most cases; the statements under test start on line 7.
PRELUDE = (
    "model m\n"
    "feature a : id(buckets=10, dim=8)\n"
    "feature b : category(size=5, dim=4)\n"
    "feature s : sequence(of=a, max_len=5)\n"
    "feature t : sequence(of=a, max_len=7)\n"
    "feature n : numeric()\n"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.rec"
    path.write_text(text, encoding="utf-8")
    return path


def check_fails(tmp_path: Path, text: str) -> SpecErrors:
    with pytest.raises(SpecErrors) as info:
        recdsl.typecheck(write(tmp_path, text))
    return info.value


def errors_of(problems: SpecErrors):
    return [e for e in problems.errors if e.severity == "error"]


def assert_rendered(problems: SpecErrors, text: str, line: int, column: int) -> None:
    """`bad.rec:L:C: error:`, then the source line, then a caret under column C."""
    lines = problems.render().splitlines()
    head = next(i for i, ln in enumerate(lines) if re.search(rf"bad\.rec:{line}:{column}: error: ", ln))
    gutter = f"{line} | "
    lines_of_text = text.split("\n")  # spans count \n only
    source_line = lines_of_text[line - 1].rstrip("\r").expandtabs(1) if line <= len(lines_of_text) else ""
    caret = lines[head + 2]
    assert re.fullmatch(r" *\^+", caret), caret
    if len(source_line) <= SHOWN_WIDTH:
        assert lines[head + 1] == gutter + source_line
        assert caret.index("^") == len(gutter) + column - 1
        return
    shown = lines[head + 1][len(gutter):]  # a window of a long line, cut ends marked with …
    core = shown.removeprefix("…").removesuffix("…")
    begin = source_line.index(core)
    assert len(core) == SHOWN_WIDTH and shown.startswith("…") == (begin > 0)
    assert caret.index("^") - len(gutter) - shown.startswith("…") + begin == column - 1


def expect(tmp_path, text, line, column, message, hint=None, count=1):
    problems = check_fails(tmp_path, text)
    errors = errors_of(problems)
    assert len(errors) == count, [e.message for e in errors]
    match = [e for e in errors if message in e.message]
    assert match, f"no error says {message!r}: {[e.message for e in errors]}"
    error = match[0]
    assert (error.span.line, error.span.column) == (line, column), error.message
    assert error.span.file.endswith("bad.rec")
    if hint is not None:
        assert hint in error.hint, error.hint
    assert_rendered(problems, text, line, column)
    if error.hint:
        assert f"= hint: {error.hint}" in problems.render()
    return error


# --- syntax -------------------------------------------------------------------------------

SYNTAX = [
    pytest.param("model m\nfeature a : id(buckets=10, dim=4\noutput o = sigmoid(a)\n",
                 2, 33, "the statement ends too early", "close the call with ')'", id="missing-paren"),
    pytest.param("model m\nfeature a : id(buckets=10 dim=4)\noutput o = sigmoid(a)\n",
                 2, 27, "unexpected `dim`", "expected ',' between arguments or ')'", id="missing-comma"),
    pytest.param("model m\nfeature g : category(vocab=['M', 'F'])\noutput o = sigmoid(g)\n",
                 2, 29, "strings use double quotes", 'write "text"', id="single-quotes"),
    pytest.param('model m\nfeature g : category(vocab=["M, F])\noutput o = sigmoid(g)\n',
                 2, 29, "unterminated string", 'close the string with "', id="unterminated-string"),
    pytest.param("model m\nfeature a = id(buckets=10)\noutput o = sigmoid(a)\n",
                 2, 11, "unexpected `=`", "features are declared with ':'", id="equals-for-feature"),
    pytest.param("model m\nfeature a : id(buckets=10)\npool p : avg(a)\noutput o = sigmoid(p)\n",
                 3, 8, "unexpected `:`", "only features use ':'", id="colon-for-pool"),
    pytest.param("model m\nfeatur a : id(buckets=10)\noutput o = sigmoid(a)\n",
                 2, 1, "unknown statement `featur`", "did you mean `feature`?", id="unknown-keyword"),
    pytest.param("model m\nfeature a : id(buckets=10)\nlayer d = mlp(a, units=[2])\noutput o = sigmoid(a)\n",
                 3, 1, "unknown statement `layer`", "statements start with feature, group, pool", id="other-keyword"),
    pytest.param("# no header\nfeature a : id(buckets=10)\noutput o = sigmoid(a)\n",
                 2, 1, "a spec starts with a `model` header", "model my_model", id="missing-header"),
    pytest.param("model m\nfeature a : id(buckets=10)\nmodel n\noutput o = sigmoid(a)\n",
                 3, 1, "a spec has one `model` header", "its own .rec file", id="two-headers"),
    pytest.param("model m\nfeature a : id(buckets=10)\noutput o =\n",
                 3, 11, "the statement ends too early", "expected a name", id="ends-early"),
    pytest.param("model m\nfeature a : id(buckets=10)\noutput o = sigmoid(a))\n",
                 3, 22, "unexpected `)`", None, id="extra-paren"),
    pytest.param("model m\nfeature a : id(buckets=10)\ngroup g = a\noutput o = sigmoid(g)\n",
                 3, 11, "unexpected `a`", "expected '['", id="group-without-list"),
    pytest.param("model m\nfeature a : id(buckets=10) @\noutput o = sigmoid(a)\n",
                 2, 28, "unexpected character '@'", None, id="stray-character"),
]


@pytest.mark.parametrize("text, line, column, message, hint", SYNTAX)
def test_syntax_error(tmp_path, text, line, column, message, hint):
    expect(tmp_path, text, line, column, message, hint)


def test_missing_comma_in_a_list_says_list(tmp_path):
    text = PRELUDE + "block d = mlp(a, units=[80 40])\noutput o = sigmoid(d)\n"
    expect(tmp_path, text, 7, 28, "unexpected `40`", "expected ',' between list items or ']'")


# --- names, ops and arguments -------------------------------------------------------------

CHECK = [
    pytest.param("feature item_id : id(buckets=10)\noutput o = sigmoid(concat(a, itemid))\n",
                 8, 30, "undefined name `itemid`", "did you mean `item_id`?", id="undefined-name"),
    pytest.param("feature a : id(buckets=10)\noutput o = sigmoid(a)\n",
                 7, 9, "`a` is already defined (line 2)", "rename", id="duplicate-name"),
    pytest.param("block d = mpl(a, units=[4])\noutput o = sigmoid(d)\n",
                 7, 11, "unknown block op `mpl`", "did you mean `mlp`?", id="unknown-op"),
    pytest.param("pool p = avrg(s)\noutput o = sigmoid(p)\n",
                 7, 10, "unknown pool op `avrg`", "did you mean `avg`?", id="unknown-pool-op"),
    pytest.param("output o = sigmoid(mlpp(a, units=[4]))\n",
                 7, 20, "unknown block op `mlpp`", "did you mean `mlp`?", id="unknown-nested-op"),
    pytest.param("pool p = mlp(a, units=[4])\noutput o = sigmoid(p)\n",
                 7, 10, "`mlp` is a block op, not a pool op", "block p = mlp(...)", id="wrong-family"),
    pytest.param("feature x : avg(s)\noutput o = sigmoid(x)\n",
                 7, 13, "`avg` is a pool op, not a feature op", "pool x = avg(...)", id="wrong-family-feature"),
    pytest.param("block d = mlp(id(buckets=3), units=[4])\noutput o = sigmoid(d)\n",
                 7, 15, "`id` cannot be nested here", "only pool, gate and block ops", id="nested-feature-op"),
    pytest.param("block d = mlp(a, units=[4], dropuot=0.1)\noutput o = sigmoid(d)\n",
                 7, 29, "mlp has no argument `dropuot`", "did you mean `dropout`?", id="unknown-argument"),
    pytest.param("block d = mlp(a, units=[4], units=[2])\noutput o = sigmoid(d)\n",
                 7, 29, "argument `units` is given twice", "keep one", id="argument-twice"),
    pytest.param("block d = mlp(a, [4], units=[2])\noutput o = sigmoid(d)\n",
                 7, 23, "argument `units` is given twice", None, id="positional-and-keyword"),
    pytest.param("block d = mlp(a, dropout=0.1)\noutput o = sigmoid(d)\n",
                 7, 11, "mlp needs `units=`", "e.g. block deep = mlp(", id="missing-required"),
    pytest.param("pool p = din(query=a)\noutput o = sigmoid(p)\n",
                 7, 10, "din needs its `keys` input", "keys=", id="missing-input"),
    pytest.param("block c = cross(a, 2, v2, 3, 4)\noutput o = sigmoid(c)\n",
                 7, 30, "cross takes at most 4 positional argument(s)", "name the extra argument",
                 id="too-many-positional"),
    pytest.param('feature x : id(buckets="100")\noutput o = sigmoid(concat(a, x))\n',
                 7, 24, '`buckets` must be an integer, got "100"', None, id="string-for-int"),
    pytest.param("feature x : id(buckets=10.5)\noutput o = sigmoid(concat(x, a))\n",
                 7, 24, "`buckets` must be an integer, got 10.5", None, id="float-for-int"),
    pytest.param("output o = sigmoid(a, label=clicked)\n",
                 7, 29, "`label` must be a quoted string, got `clicked`", 'quote it: "clicked"',
                 id="name-for-string"),
    pytest.param("block d = mlp(a, units=[4], activation=dcie)\noutput o = sigmoid(d)\n",
                 7, 40, "`activation` must be one of relu, dice, prelu", "did you mean `dice`?", id="enum-typo"),
    pytest.param('block d = mlp(a, units=[4], norm="batchnorm")\noutput o = sigmoid(d)\n',
                 7, 34, "`norm` must be one of none, batch, layer, got `batchnorm`", None, id="enum-string"),
    pytest.param("feature x : id(buckets=-10)\noutput o = sigmoid(concat(x, a))\n",
                 7, 24, "`buckets` must be at least 1, got -10", None, id="negative"),
    pytest.param("block c = cross(a, layers=0)\noutput o = sigmoid(c)\n",
                 7, 27, "`layers` must be at least 1, got 0", None, id="zero"),
    pytest.param("block d = mlp(a, units=[4], dropout=1.5)\noutput o = sigmoid(d)\n",
                 7, 37, "`dropout` must be at most 0.99, got 1.5", None, id="above-maximum"),
    pytest.param("block d = mlp(a, units=[64, 32.5])\noutput o = sigmoid(d)\n",
                 7, 24, "`units` must be a list of integers, got 32.5", None, id="float-in-units"),
    pytest.param('block d = mlp(a, units=[64, "32"])\noutput o = sigmoid(d)\n',
                 7, 24, '`units` must be a list of integers, got "32"', None, id="string-in-units"),
    pytest.param("block d = mlp(a, units=[64, 0])\noutput o = sigmoid(d)\n",
                 7, 24, "`units` sizes must be positive, got 0", None, id="zero-in-units"),
    pytest.param("block d = mlp(a, units=[])\noutput o = sigmoid(d)\n",
                 7, 24, "`units` is an empty list", None, id="empty-units"),
    pytest.param("block d = mlp(a, units=[4], gate=senet(a))\noutput o = sigmoid(d)\n",
                 7, 34, "`gate` takes poso(...), got a call to senet(...)", None, id="gate-not-poso"),
    pytest.param("output o = sigmoid(a, weight=true)\n",
                 7, 30, "`weight` must be a number, got true", None, id="bool-for-float"),
    pytest.param("pool p = din(query=a, keys=s, output=sequence, normalize=1)\noutput o = sigmoid(avg(p))\n",
                 7, 58, "`normalize` must be one of none, softmax, got 1", None, id="number-for-enum"),
    pytest.param("block x = transformer(s, heads=3)\noutput o = sigmoid(avg(x))\n",
                 7, 32, "transformer width 8 is not divisible by heads=3", "choose heads dividing 8",
                 id="heads-not-dividing"),
    pytest.param("group g = []\noutput o = sigmoid(g)\n",
                 7, 11, "group `g` is empty", None, id="empty-group"),
    pytest.param('group g = [a, "b"]\noutput o = sigmoid(g)\n',
                 7, 15, "expected a feature or node name here", None, id="string-in-group"),
]


@pytest.mark.parametrize("text, line, column, message, hint", CHECK)
def test_check_error(tmp_path, text, line, column, message, hint):
    expect(tmp_path, PRELUDE + text, line, column, message, hint)


def test_misspelled_required_argument_reports_the_typo_and_the_missing_argument(tmp_path):
    text = PRELUDE + "block d = mlp(a, unit=[4])\noutput o = sigmoid(d)\n"
    typo = expect(tmp_path, text, 7, 18, "mlp has no argument `unit`", "did you mean `units`?", count=2)
    assert "mlp takes: x, units, activation" in typo.hint
    expect(tmp_path, text, 7, 11, "mlp needs `units=`", count=2)


# --- shapes -------------------------------------------------------------------------------

SHAPES = [
    pytest.param("block d = mlp([a, s], units=[4])\noutput o = sigmoid(d)\n",
                 7, 15, "`s` is a sequence [B, 5, 8]; mlp needs a vector [B, n]", "pool it first, e.g. `pool s_vec",
                 id="sequence-into-mlp"),
    pytest.param("group g = [a, t]\nblock d = mlp(g, units=[4])\noutput o = sigmoid(d)\n",
                 8, 15, "`t` is a sequence [B, 7, 8]; mlp needs a vector", "avg(t)", id="sequence-in-group-into-mlp"),
    pytest.param("block d = fm([a, b])\noutput o = sigmoid(d)\n",
                 7, 14, "fm needs fields of one dim, but `a` is 8 and `b` is 4", "same embedding dim",
                 id="fm-unequal-dims"),
    pytest.param("gate g = senet([a, b])\noutput o = sigmoid(g)\n",
                 7, 16, "senet needs fields of one dim, but `a` is 8 and `b` is 4", "same embedding dim",
                 id="senet-unequal-dims"),
    pytest.param("block d = fm([a, n])\noutput o = sigmoid(d)\n",
                 7, 14, "`n` is a numeric value [B, 1], not an embedding field; fm needs fields",
                 "embed it: numeric(dim=...)", id="dense-into-fm"),
    pytest.param("block v = mlp(a, units=[8])\nblock d = fm([a, v])\noutput o = sigmoid(d)\n",
                 8, 14, "`v` is a vector [B, 8], not an embedding field; fm needs fields", None,
                 id="vector-into-fm"),
    pytest.param("block d = fm([a, s])\noutput o = sigmoid(d)\n",
                 7, 14, "`s` is a sequence [B, 5, 8]; fm needs embedding fields", "pool it first",
                 id="sequence-into-fm"),
    pytest.param("pool p = din(query=b, keys=s)\noutput o = sigmoid(p)\n",
                 7, 20, "din query is 4 wide but keys are 8 wide (b:4 vs s:8)", "same total embedding dim",
                 id="din-query-width"),
    pytest.param("pool p = din(query=a, keys=[s, t])\noutput o = sigmoid(p)\n",
                 7, 28, "sequences of unequal length: `s` has 5, `t` has 7", "same max_len",
                 id="din-keys-unequal-length"),
    pytest.param("pool p = din(query=s, keys=s)\noutput o = sigmoid(p)\n",
                 7, 20, "`s` is a sequence [B, 5, 8]; the din query must be one vector per row", None,
                 id="din-query-sequence"),
    pytest.param("pool p = din(query=a, keys=a)\noutput o = sigmoid(p)\n",
                 7, 28, "`a` is an embedding field [B, 8]; din needs a sequence or bag", None,
                 id="din-keys-field"),
    pytest.param("pool p = attention(query=b, keys=s, score=dot, transform=false)\noutput o = sigmoid(p)\n",
                 7, 26, "dot attention query is 4 wide but keys are 8 wide", None, id="attention-dot-width"),
    pytest.param("pool p = attention(query=a, keys=s, values=t)\noutput o = sigmoid(p)\n",
                 7, 44, "values have length 7 but keys have length 5", None, id="attention-values-length"),
    pytest.param("pool p = sum(a)\noutput o = sigmoid(p)\n",
                 7, 14, "`a` is an embedding field [B, 8]; sum needs a sequence or bag [B, L, d]", None,
                 id="pool-a-field"),
    pytest.param("block d = add(a, b)\noutput o = sigmoid(d)\n",
                 7, 15, "add needs inputs of one shape", "project them to one width", id="add-shapes"),
    pytest.param("block d = bilinear([a])\noutput o = sigmoid(d)\n",
                 7, 20, "bilinear needs at least two fields (one field has no pairs)", None, id="bilinear-one-field"),
    pytest.param("feature x : numeric(boundaries=[3, 1], dim=8)\noutput o = sigmoid(concat(x, a))\n",
                 7, 32, "boundaries must be strictly increasing", None, id="boundaries-order"),
    pytest.param("block d = mlp(a, units=[4], gate=poso(by=s))\noutput o = sigmoid(d)\n",
                 7, 42, "`s` is a sequence [B, 5, 8]; poso needs a vector", None, id="poso-by-sequence"),
]


@pytest.mark.parametrize("text, line, column, message, hint", SHAPES)
def test_shape_error(tmp_path, text, line, column, message, hint):
    expect(tmp_path, PRELUDE + text, line, column, message, hint)


def test_add_names_both_inputs_with_readable_shapes(tmp_path):
    text = PRELUDE + "block d = add(a, b)\noutput o = sigmoid(d)\n"
    expect(tmp_path, text, 7, 15, "add needs inputs of one shape, got a [B, 8], b [B, 4]")


def test_dot_with_one_field_is_an_error(tmp_path):
    text = PRELUDE + "block d = dot([a])\noutput o = sigmoid(concat(d, b))\n"
    expect(tmp_path, text, 7, 15, "dot needs at least two fields", "self_interaction=true")


def test_dot_with_one_field_and_self_interaction_is_fine(tmp_path):
    spec = recdsl.typecheck(write(tmp_path, PRELUDE + "block d = dot([a], self_interaction=true)\n"
                                            "output o = sigmoid(concat(d, b))\n"))
    assert spec.node("d").type.size == 1


def test_add_names_list_arguments_by_their_members(tmp_path):
    text = PRELUDE + "block d = add([a, b], a)\noutput o = sigmoid(d)\n"
    expect(tmp_path, text, 7, 15, "add needs inputs of one shape, got [a, b] [B, 12], a [B, 8]")


# --- cycles and sharing -------------------------------------------------------------------

def test_self_loop(tmp_path):
    text = PRELUDE + "block d = mlp([a, d], units=[4])\noutput o = sigmoid(d)\n"
    error = expect(tmp_path, text, 7, 19, "cycle: d -> d", "cannot depend on itself")
    assert error.message == "cycle: d -> d"


def test_two_node_cycle(tmp_path):
    text = PRELUDE + "block d = mlp(e, units=[4])\nblock e = mlp(d, units=[4])\noutput o = sigmoid(e)\n"
    error = expect(tmp_path, text, 8, 15, "cycle: d -> e -> d")
    assert error.message == "cycle: d -> e -> d"


def test_three_node_cycle_through_a_nested_call(tmp_path):
    text = PRELUDE + ("block x = mlp(concat(a, z), units=[4])\nblock y = mlp(x, units=[4])\n"
                      "block z = mlp(y, units=[4])\noutput o = sigmoid(z)\n")
    expect(tmp_path, text, 8, 15, "cycle: x -> z -> y -> x")


def test_share_names_a_node_of_another_op(tmp_path):
    text = PRELUDE + ("pool p = attention(query=a, keys=s)\nblock d = mlp(a, units=[8])\n"
                      "pool q = attention(query=a, keys=s, share=d)\noutput o = sigmoid(concat(p, q, d))\n")
    expect(tmp_path, text, 9, 43, "`q` (attention) cannot share the weights of `d` (mlp)",
           "share= names another attention node, or a node of attention, cross_attention, self_attention, "
           "traditional_attention (weights by role)")


def test_share_with_different_arguments_and_no_weights_rule(tmp_path):
    text = PRELUDE + ("pool p = din(query=a, keys=s)\n"
                      "pool q = din(query=a, keys=s, normalize=softmax, share=p)\noutput o = sigmoid(concat(p, q))\n")
    expect(tmp_path, text, 8, 56, "`q` cannot share the weights of `p`: argument `normalize` differs "
           "('softmax' vs 'none')", "a node of the same op and arguments shares all its weights")


def test_share_with_different_input_widths(tmp_path):
    """Both queries are one field: the message names the weights whose shapes differ, never the widths."""
    text = PRELUDE + ("feature c : id(buckets=9, dim=4)\npool p = attention(query=a, keys=s)\n"
                      "pool q = attention(query=c, keys=s, share=p)\noutput o = sigmoid(concat(p, q))\n")
    expect(tmp_path, text, 9, 43, "`q` cannot share the weights of `p`: their shapes differ "
           "(key [8, 4] vs [8, 8]; key_bias [4] vs [8])")


def test_share_across_ops_names_the_weights_of_other_shapes(tmp_path):
    text = PRELUDE + ("block h = self_attention(s, style=standard, heads=2)\n"
                      "pool q = traditional_attention(s, units=4, share=h)\noutput o = sigmoid(concat(avg(h), q))\n")
    expect(tmp_path, text, 8, 50, "`q` cannot share the weights of `h`: their shapes differ "
           "(key [8, 4] vs [8, 8]; key_bias [4] vs [8])", "which need the same shapes")


def test_share_across_ops_with_no_weights_in_common(tmp_path):
    text = PRELUDE + ("block h = self_attention(s, style=standard, project=false, heads=1)\n"
                      "pool q = attention(query=a, keys=s, share=h)\noutput o = sigmoid(concat(avg(h), q))\n")
    expect(tmp_path, text, 8, 43, "`q` cannot share the weights of `h`: they have no weights in common "
           "(`q`: key [8, 8], key_bias [8]; `h`: none)")


def test_mlp_share_with_other_input_widths_names_the_input(tmp_path):
    text = PRELUDE + ("block p = mlp(a, units=[4])\nblock q = mlp(b, units=[4], share=p)\n"
                      "output o = sigmoid(concat(p, q))\n")
    expect(tmp_path, text, 8, 35, "`q` cannot share the weights of `p`: input `x` is 4 wide, but 8 wide at `p`")


def test_share_itself_is_a_cycle(tmp_path):
    text = PRELUDE + "pool p = din(query=a, keys=s, share=p)\noutput o = sigmoid(p)\n"
    expect(tmp_path, text, 7, 37, "cycle: p -> p")


# --- features -----------------------------------------------------------------------------

FEATURES = [
    pytest.param("feature x : sequence(of=n, max_len=5)\npool p = avg(x)\noutput o = sigmoid(p)\n",
                 7, 25, "`n` is a numeric feature; `of` names an id or category feature",
                 "sequence(of=item_id", id="sequence-of-numeric"),
    pytest.param("block v = mlp(a, units=[4])\nfeature x : multi(of=v, max_len=5)\npool p = avg(x)\n"
                 "output o = sigmoid(p)\n",
                 8, 22, "`v` is a mlp block; `of` names an id or category feature", None, id="multi-of-block"),
    pytest.param("feature x : sequence(of=mlp(a, units=[2]), max_len=5)\noutput o = sigmoid(avg(x))\n",
                 7, 25, "`of` takes id(...) or category(...), not mlp(...)", None, id="sequence-of-call"),
    pytest.param('feature x : category(vocab=["M", "F"], size=3)\noutput o = sigmoid(x)\n',
                 7, 45, "category takes one of vocab=, vocab_file=, size=, max_tokens=, not vocab and size",
                 'vocab=["M", "F"]', id="category-two-sources"),
    pytest.param("feature x : category(dim=4)\noutput o = sigmoid(x)\n",
                 7, 13, "category needs exactly one of vocab=, vocab_file=, size=, max_tokens=", "size=21",
                 id="category-no-source"),
    pytest.param('feature x : category(vocab=["M", "F", "M"])\noutput o = sigmoid(x)\n',
                 7, 28, "vocab lists 'M' twice", "once", id="category-duplicate-vocab"),
    pytest.param("feature x : category(vocab=[])\noutput o = sigmoid(x)\n",
                 7, 28, "`vocab` is an empty list", None, id="category-empty-vocab"),
    pytest.param('feature x : category(vocab_file="missing.txt")\noutput o = sigmoid(x)\n',
                 7, 33, "vocabulary file 'missing.txt' not found", "relative to the .rec file",
                 id="missing-vocab-file"),
    pytest.param("feature x : sequence(of=a)\noutput o = sigmoid(avg(x))\n",
                 7, 13, "sequence needs `max_len=`", None, id="sequence-without-max-len"),
]


@pytest.mark.parametrize("text, line, column, message, hint", FEATURES)
def test_feature_error(tmp_path, text, line, column, message, hint):
    expect(tmp_path, PRELUDE + text, line, column, message, hint)


def test_empty_vocab_file(tmp_path):
    (tmp_path / "empty.txt").write_text("\n  \n")
    text = PRELUDE + 'feature x : category(vocab_file="empty.txt")\noutput o = sigmoid(x)\n'
    expect(tmp_path, text, 7, 33, "vocabulary file 'empty.txt' is empty", "one value per line")


def test_vocab_file_next_to_the_spec_is_found(tmp_path):
    (tmp_path / "genres.txt").write_text("Action\nComedy\n\nDrama\n")
    path = write(tmp_path, 'model m\nfeature g : category(vocab_file="genres.txt", dim=4)\noutput o = sigmoid(g)\n')
    spec = recdsl.typecheck(path)
    assert spec.node("g").params == (3 + 2) * 4


def test_vocab_file_that_is_not_utf8(tmp_path):
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\nth\xe9\n")
    text = PRELUDE + 'feature x : category(vocab_file="latin1.txt")\noutput o = sigmoid(x)\n'
    expect(tmp_path, text, 7, 33, "latin1.txt")


def test_vocab_file_path_with_a_nul_character(tmp_path):
    text = PRELUDE + 'feature x : category(vocab_file="gen\x00res.txt")\noutput o = sigmoid(x)\n'
    expect(tmp_path, text, 7, 33, "vocabulary file")


@pytest.mark.parametrize("odd", ["\f", "\u2028"], ids=["form-feed", "line-separator"])
def test_rendered_source_line_after_an_odd_line_break(tmp_path, odd):
    text = f"model m # top{odd}comment\nfeature a : id(buckets=0)\noutput o = sigmoid(a)\n"
    expect(tmp_path, text, 2, 24, "`buckets` must be at least 1, got 0")


# --- whole-model problems -----------------------------------------------------------------

def test_no_output(tmp_path):
    text = "model m\nfeature a : id(buckets=10)\nblock d = mlp(a, units=[4])\n"
    expect(tmp_path, text, 1, 1, "model `m` has no output", "output ctr = sigmoid(")


def test_several_errors_are_all_reported_in_one_spec_errors(tmp_path):
    text = (
        "model m\n"
        "feature a : id(buckets=0)\n"                    # 2: below the minimum
        "feature a2 : id(buckets=10)\n"
        "block d = mlp(a2, units=[4], dropuot=0.1)\n"    # 4: unknown argument
        "block e = fm([a2, zz])\n"                       # 5: undefined name
        "pool p = mlp(a2, units=[4])\n"                  # 6: wrong family
        "feature a2 : id(buckets=3)\n"                   # 7: duplicate
        "output o = sigmoid(concat(d, e, p))\n"
    )
    problems = check_fails(tmp_path, text)
    found = [(e.span.line, e.span.column, e.message) for e in errors_of(problems)]
    assert found == [
        (2, 24, "`buckets` must be at least 1, got 0"),
        (4, 30, "mlp has no argument `dropuot`"),
        (5, 19, "undefined name `zz`"),
        (6, 10, "`mlp` is a block op, not a pool op"),
        (7, 9, "`a2` is already defined (line 3)"),
    ]
    rendered = problems.render()
    for line, column, _ in found:
        assert f"bad.rec:{line}:{column}: error:" in rendered
        assert_rendered(problems, text, line, column)


def test_an_error_does_not_cascade_to_dependents(tmp_path):
    text = PRELUDE + ("block d = mlp(a, units=[4], activation=relux)\nblock e = mlp(d, units=[2])\n"
                      "output o = sigmoid(e)\n")
    problems = check_fails(tmp_path, text)
    assert [e.message.split(",")[0] for e in errors_of(problems)] == ["`activation` must be one of relu"]


def test_unused_feature_is_a_warning_and_the_spec_still_checks(tmp_path):
    path = write(tmp_path, "model m\nfeature a : id(buckets=10)\nfeature unused : id(buckets=10)\n"
                           "block spare = mlp(a, units=[2])\noutput o = sigmoid(a)\n")
    spec = recdsl.typecheck(path)
    assert [(w.severity, w.span.line, w.span.column, w.message) for w in spec.warnings] == [
        ("warning", 3, 9, "feature `unused` is never used"),
        ("warning", 4, 7, "block `spare` is never used"),
    ]
    rendered = spec.warnings[0].render(spec.sources[str(path)])
    assert rendered.startswith(f"{path}:3:9: warning: feature `unused` is never used")
    assert "3 | feature unused : id(buckets=10)" in rendered


def test_warnings_ride_along_with_errors(tmp_path):
    problems = check_fails(tmp_path, "model m\nfeature unused : id(buckets=10)\nfeature a : id(buckets=10)\n"
                                     "output o = sigmoid(concat(a, zz))\n")
    assert [(e.severity, e.span.line) for e in problems.errors] == [("warning", 2), ("error", 4)]
    assert "bad.rec:2:9: warning: feature `unused` is never used" in problems.render()


def test_no_unused_warning_for_a_feature_referenced_by_a_broken_statement(tmp_path):
    problems = check_fails(tmp_path, "model m\nfeature a : id(buckets=10)\nblock d = mlp(a, unitz=[4])\n"
                                     "output o = sigmoid(d)\n")
    assert [e.severity for e in problems.errors] == ["error", "error"]


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.rec"
    path.write_bytes(b"\xef\xbb\xbfmodel m\nfeature a : id(buckets=10)\noutput o = sigmoid(a)\n")
    assert recdsl.typecheck(path).name == "m"


# --- nested calls in argument values --------------------------------------------------------

NESTED_ARGUMENTS = [
    pytest.param("feature x : multi(id(buckets=50, dims=3), max_len=3)\noutput o = sigmoid(avg(x))\n",
                 7, 34, "id has no argument `dims`", id="of-call-unknown-argument"),
    pytest.param("feature x : multi(id(50, buckets=50), max_len=3)\noutput o = sigmoid(avg(x))\n",
                 7, 26, "argument `buckets` is given twice", id="of-call-argument-twice"),
    pytest.param("block d = mlp(a, units=[4], gate=poso(by=a, unit=3))\noutput o = sigmoid(d)\n",
                 7, 45, "poso has no argument `unit`", id="gate-call-unknown-argument"),
    pytest.param("block d = mlp(a, units=[4], gate=poso())\noutput o = sigmoid(d)\n",
                 7, 34, "poso needs its `by` input", id="gate-call-missing-input"),
]


@pytest.mark.parametrize("text, line, column, message", NESTED_ARGUMENTS)
def test_argument_error_inside_a_nested_call(tmp_path, text, line, column, message):
    expect(tmp_path, PRELUDE + text, line, column, message)


# --- through the command line --------------------------------------------------------------

CLI_CASES = [SYNTAX[0], SYNTAX[2], SYNTAX[6], SYNTAX[8], SYNTAX[10]]
CLI_CHECK_CASES = [CHECK[0], CHECK[5], CHECK[8], CHECK[17], SHAPES[0], SHAPES[2], SHAPES[7]]


def _cli_fails(tmp_path, capsys, text, line, column, message):
    path = write(tmp_path, text)
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}:{line}:{column}: error: {message}" in err or (
        f"{path}:{line}:{column}: error:" in err and message in err)
    assert "^" in err
    assert "Traceback" not in err and "internal error" not in err
    return err


@pytest.mark.parametrize("text, line, column, message, hint", CLI_CASES)
def test_cli_reports_syntax_error(tmp_path, capsys, text, line, column, message, hint):
    err = _cli_fails(tmp_path, capsys, text, line, column, message)
    assert "= hint: " in err


@pytest.mark.parametrize("text, line, column, message, hint", CLI_CHECK_CASES)
def test_cli_reports_check_error(tmp_path, capsys, text, line, column, message, hint):
    err = _cli_fails(tmp_path, capsys, PRELUDE + text, line, column, message)
    assert "= hint: " in err


# --- limits ---------------------------------------------------------------------------------

def _long_chain(depth: int) -> str:
    lines = ["model m", "feature b0 : id(buckets=10, dim=4)"]
    lines += [f"block b{i} = mlp(b{i - 1}, units=[4])" for i in range(depth, 0, -1)]  # users before uses
    return "\n".join(lines + [f"output o = sigmoid(b{depth})", ""])


def _deep_nesting(depth: int) -> str:
    expr = "a"
    for _ in range(depth):
        expr = f"concat({expr})"
    return f"model m\nfeature a : id(buckets=10, dim=4)\noutput o = sigmoid({expr})\n"


@pytest.fixture()
def default_recursion_limit():
    """The CLI runs at Python's default limit; importing TensorFlow (other tests) raises it to 3000."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(before)


@pytest.mark.usefixtures("default_recursion_limit")
@pytest.mark.parametrize("text", [_long_chain(100), _deep_nesting(100)], ids=["chain-100", "nesting-100"])
def test_long_chains_and_deep_nesting_check(tmp_path, text):
    assert recdsl.typecheck(write(tmp_path, text)).outputs


@pytest.mark.usefixtures("default_recursion_limit")
@pytest.mark.parametrize("text", [_long_chain(300), _deep_nesting(300)], ids=["chain-300", "nesting-300"])
def test_very_long_chains_and_deep_nesting_check(tmp_path, text):
    assert recdsl.typecheck(write(tmp_path, text)).outputs


# --- values that cannot be right: huge, non-finite, empty, endless ------------------------------

REFUSED_VALUES = [
    pytest.param("block d = mlp(a, units=[4], dropout=" + "7" * 400 + ")\noutput o = sigmoid(d)\n",
                 7, 37, "number too large: 777777777777…777777 (400 characters)", "2^63 - 1", id="dropout-400-digits"),
    pytest.param("feature x : id(buckets=" + "9" * 5000 + ")\noutput o = sigmoid(x)\n",
                 7, 24, "number too large", "2^63 - 1", id="buckets-5000-digits"),
    pytest.param("feature x : id(buckets=10, l2=1e309)\noutput o = sigmoid(x)\n",
                 7, 31, "number too large: 1e309", "1.8e308", id="l2-inf"),
    pytest.param("block d = mlp(a, units=[4], gate=poso(by=[b], scale=1e309))\noutput o = sigmoid(d)\n",
                 7, 53, "number too large: 1e309", None, id="poso-scale-inf"),
    pytest.param("feature x : id(buckets=10, l2=1e-400)\noutput o = sigmoid(x)\n",
                 7, 31, "number too small: 1e-400", "write 0", id="l2-underflow"),
    pytest.param('feature x : sequence(of=a, max_len=5, sep="")\noutput o = sigmoid(avg(x))\n',
                 7, 43, "`sep` is empty", "separator", id="empty-sep"),
    pytest.param('feature x : multi(category(size=3), max_len=5, sep="")\noutput o = sigmoid(avg(x))\n',
                 7, 52, "`sep` is empty", None, id="empty-sep-multi"),
    pytest.param('feature x : id(buckets=3, column="")\noutput o = sigmoid(x)\n',
                 7, 34, "`column` is empty", None, id="empty-column"),
    pytest.param('output o = sigmoid(a, label="")\n', 7, 29, "`label` is empty", None, id="empty-label"),
    pytest.param('feature x : category(vocab_file="/dev/zero")\noutput o = sigmoid(x)\n',
                 7, 33, "vocabulary file '/dev/zero' cannot be read: it is a character device, not a regular file",
                 "readable text file", id="vocab-file-dev-zero"),
    pytest.param('feature x : category(vocab_file="")\noutput o = sigmoid(x)\n',
                 7, 33, "`vocab_file` is empty", None, id="vocab-file-empty-path"),
]


@pytest.mark.parametrize("text, line, column, message, hint", REFUSED_VALUES)
def test_refused_value(tmp_path, text, line, column, message, hint):
    expect(tmp_path, PRELUDE + text, line, column, message, hint)


def test_infinite_boundaries_are_both_refused(tmp_path):
    text = PRELUDE + "feature x : numeric(boundaries=[-1e309, 1e309])\noutput o = sigmoid(x)\n"
    error = expect(tmp_path, text, 7, 33, "number too large: -1e309", count=2)
    assert error.span.end_column == 39
    second = errors_of(check_fails(tmp_path, text))[1]
    assert (second.span.line, second.span.column, second.message) == (7, 41, "number too large: 1e309")


def test_a_fifo_as_vocab_file_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    text = PRELUDE + 'feature x : category(vocab_file="pipe")\noutput o = sigmoid(x)\n'
    expect(tmp_path, text, 7, 33, "vocabulary file 'pipe' cannot be read: it is a FIFO (named pipe), not a regular file")


def test_a_huge_vocab_file_is_refused_naming_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr("recdsl.ops.vocab.MAX_BYTES", 2**20)
    (tmp_path / "huge.txt").write_bytes(b"x\n" * 2**20)
    text = PRELUDE + 'feature x : category(vocab_file="huge.txt")\noutput o = sigmoid(x)\n'
    expect(tmp_path, text, 7, 33, "vocabulary file 'huge.txt' is too large: over 1 MiB", "id(buckets=...)")


@pytest.mark.parametrize("text", [
    "feature x : id(buckets=10, l2=1e309)\noutput o = sigmoid(x)\n",
    "block d = mlp(a, units=[4], dropout=" + "7" * 400 + ")\noutput o = sigmoid(d)\n",
    'feature x : sequence(of=a, max_len=5, sep="")\noutput o = sigmoid(avg(x))\n',
], ids=["inf", "400-digits", "empty-sep"])
def test_cli_refuses_them_with_exit_1_and_no_traceback(tmp_path, capsys, text):
    path = write(tmp_path, PRELUDE + text)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:7:" in err and "^" in err and "= hint: " in err
    assert "Traceback" not in err and "internal error" not in err


# --- rendering very long lines ------------------------------------------------------------

def test_a_long_source_line_is_shown_as_a_window_around_the_span(tmp_path):
    names = ", ".join(f"member_{i}" for i in range(2000))
    text = f"model m\nfeature a : id(buckets=10)\ngroup g = [{names}, a, nope]\noutput o = sigmoid(g)\n"
    problems = check_fails(tmp_path, text)
    (error,) = errors_of(problems)[-1:]
    assert error.message == "undefined name `member_0`"
    rendered = problems.render()
    assert max(len(line) for line in rendered.splitlines()) < 300
    lines = rendered.splitlines()
    head = lines.index(next(ln for ln in lines if "undefined name `member_0`" in ln))
    assert lines[head + 1].startswith("3 | group g = [member_0, ") and lines[head + 1].endswith("…")
    assert lines[head + 2] == " " * len("3 | group g = [") + "^" * len("member_0")


def test_a_span_far_along_a_long_line_keeps_its_caret_under_it(tmp_path):
    text = "model m\nfeature a : id(buckets=10)\n" + "output o = sigmoid(concat(" + "a, " * 3000 + "zz))\n"
    problems = check_fails(tmp_path, text)
    (error,) = errors_of(problems)
    column = len("output o = sigmoid(concat(" + "a, " * 3000) + 1
    assert (error.span.line, error.span.column) == (3, column)
    source, caret = problems.render().splitlines()[1:3]
    assert source.startswith("3 | … a, a, ") and source.endswith("zz))") and len(source) < 220
    assert source[caret.index("^"):caret.index("^") + 2] == "zz" and caret.count("^") == 2


def test_alpha_init_needs_a_learned_activation(tmp_path):
    text = PRELUDE + "block d = mlp(a, units=[4], alpha_init=0.1)\noutput o = sigmoid(d)\n"
    expect(tmp_path, text, 7, 40, "alpha_init=0.1 sets the initial slope of prelu or dice, but the activation is relu",
           "write activation=prelu")
