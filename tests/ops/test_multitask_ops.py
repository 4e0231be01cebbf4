"""The multi-task ops' checks: mixture (task gates over experts) and product (ESMM's output of
outputs): located errors with their exact texts, the types and parameter counts they infer, and
the CLI printing them without a traceback."""
from __future__ import annotations

from pathlib import Path

from recdsl.ops.types import shape_text

from .. import spec_check

PRELUDE = (
    "model m\n"
    "feature a : id(buckets=10, dim=8)\n"
    "feature b : category(size=5, dim=4)\n"
    "feature s : sequence(of=a, max_len=5)\n"
    "feature n : numeric(size=2)\n"
    "block e1 = mlp(a, units=[6])\n"
    "block e2 = mlp(b, units=[6])\n"
)
# the statements under test start on line 8


def checked(tmp_path: Path, body: str):
    return spec_check.checked(tmp_path, PRELUDE + body)


def only_error(tmp_path: Path, body: str):
    return spec_check.only_error(tmp_path, PRELUDE + body)


def test_mixture_type_and_parameters(tmp_path):
    spec = checked(tmp_path, "gate g = mixture([e1, e2, mlp(n, units=[6])], by=[a, n])\noutput ctr = sigmoid(g)\n")
    g = spec.node("g")
    assert shape_text(g.type) == "[B, 6]"
    assert g.params == (8 + 2 + 1) * 3  # W [m, K] + b [K], m = 10 (a and n), K = 3
    assert [b.members for b in g.inputs] == [("e1", "e2", "g.mlp"), ("a", "n")]


def test_experts_of_different_widths_name_both(tmp_path):
    err = only_error(tmp_path, "block e3 = mlp(a, units=[5])\ngate g = mixture([e1, e3], by=a)\noutput ctr = sigmoid(g)\n")
    assert err.message == "mixture needs experts of one width, but `e1` is 6 wide and `e3` is 5"
    assert err.hint == "give every expert of mixture the same output width (6)"
    assert (err.span.line, err.span.column) == (9, 18)


def test_an_expert_must_be_a_vector(tmp_path):
    err = only_error(tmp_path, "gate g = mixture([e1, s], by=a)\noutput ctr = sigmoid(g)\n")
    assert err.message == "`s` is a sequence [B, 5, 8]; each expert of mixture must be a vector [B, n]"
    assert (err.span.line, err.span.column) == (8, 18)


def test_by_must_be_a_vector(tmp_path):
    err = only_error(tmp_path, "gate g = mixture([e1, e2], by=s)\noutput ctr = sigmoid(g)\n")
    assert err.message == "`s` is a sequence [B, 5, 8]; mixture needs a vector [B, n]"
    assert (err.span.line, err.span.column) == (8, 31)


def test_by_is_required_and_an_unknown_expert_has_a_did_you_mean(tmp_path):
    err = only_error(tmp_path, "gate g = mixture([e1, e2])\noutput ctr = sigmoid(g)\n")
    assert err.message == "mixture needs its `by` input"
    err = only_error(tmp_path, "gate g = mixture([e1, e22], by=a)\noutput ctr = sigmoid(g)\n")
    assert err.message == "undefined name `e22`" and "e2" in err.hint


def test_one_expert_is_legal(tmp_path):
    spec = checked(tmp_path, "gate g = mixture([e1], by=a)\noutput ctr = sigmoid(g)\n")
    assert shape_text(spec.node("g").type) == "[B, 6]" and spec.node("g").params == 8 + 1


def test_product_of_outputs(tmp_path):
    spec = checked(tmp_path, 'output ctr = sigmoid(e1)\noutput cvr = sigmoid(e2, weight=0)\n'
                             'output ctcvr = product(ctr, cvr, label="bought")\n')
    node = spec.node("ctcvr")
    assert shape_text(node.type) == "[B, 1]" and node.params == 0
    assert node.arg("label") == "bought" and spec.node("cvr").arg("weight") == 0


def test_product_refuses_what_is_not_a_probability(tmp_path):
    err = only_error(tmp_path, "output ctr = sigmoid(e1)\noutput x = product(ctr, e2)\n")
    assert err.message == "`e2` is a vector [B, 6]; product multiplies the probabilities of sigmoid outputs"
    assert err.hint == "make `e2` an output: `output e2 = sigmoid(...)`"
    assert err.span.line == 9
    err = only_error(tmp_path, "output r = linear(e1)\noutput x = product(r, r)\n")
    assert err.message.startswith("`r` is a vector [B, 1]; product multiplies")


def test_product_needs_two(tmp_path):
    err = only_error(tmp_path, "output ctr = sigmoid(e1)\noutput x = product(ctr)\n")
    assert err.message == "product needs at least two probabilities"


def test_cli_prints_the_error(tmp_path, capsys):
    from recdsl.cli.main import main

    path = tmp_path / "bad.rec"
    path.write_text(PRELUDE + "block e3 = mlp(a, units=[5])\ngate g = mixture([e1, e3], by=a)\n"
                    "output ctr = sigmoid(g)\n", encoding="utf-8")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bad.rec:9:18: error: mixture needs experts of one width" in err and "Traceback" not in err


def test_product_layer_multiplies_and_clips(tmp_path):
    """ProbabilityProduct: p1 * p2 clipped to [1e-7, 1 - 1e-7], in float32, saved and reloaded."""
    import numpy as np

    from recdsl.layers.head import PROBABILITY_EPSILON, ProbabilityProduct
    from tests.layers.layer_check import assert_close, check_layer

    p1 = np.array([[0.5], [1e-5], [1.0], [0.9]], "float32")
    p2 = np.array([[0.4], [1e-5], [1.0], [0.0]], "float32")
    out = check_layer(ProbabilityProduct(), [p1, p2], params=0, tmp_path=tmp_path)
    expected = np.clip(p1.astype("float64") * p2, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)
    assert_close(out, expected)
    assert out[1, 0] == np.float32(PROBABILITY_EPSILON) and out[3, 0] == np.float32(PROBABILITY_EPSILON)
    assert out[2, 0] == np.float32(1 - PROBABILITY_EPSILON) and str(out.dtype) == "float32"
