"""self_attention and cross_attention: what each style's unset options mean (types and parameter
counts written out by hand), and the impossible combinations refused at the argument at fault."""
from __future__ import annotations

import pytest

import recdsl
from recdsl.lang.errors import SpecErrors

HEAD = """model m
feature a : id(buckets=10, dim=8)
feature b : id(buckets=10, dim=8)
feature c : id(buckets=10, dim=6)
feature s : sequence(of=a, max_len=5)
feature t : sequence(of=c, max_len=5)
feature u : sequence(of=b, max_len=3)
"""


def check(tmp_path, line: str):
    """The spec with `line`, whose node x (a sequence or a stack) feeds the output."""
    path = tmp_path / "s.rec"
    tail = "concat(avg(x))" if "query=s" in line or "self_attention" in line else "concat(x)"
    path.write_text(HEAD + line + f"\noutput y = sigmoid({tail})\n", encoding="utf-8")
    return recdsl.check(path)


D = 8
#: statement -> (output shape, parameters)
KNOWN = {
    # AutoInt, unchanged: W_Q, W_K, W_V, W_res [d, H d], ReLU
    "self_attention(s)": (("B", 5, 2 * D), 4 * D * 2 * D),
    "self_attention(s, residual=false, layers=2)": (("B", 5, 2 * D), 3 * D * 2 * D + 3 * (2 * D) * (2 * D)),
    # standard: (d + 1) d for each of W_Q, W_K, W_V, W_O
    "self_attention(s, style=standard, heads=4)": (("B", 5, D), 4 * (D * D + D)),
    "self_attention(s, style=standard, heads=2, layers=3)": (("B", 5, D), 3 * 4 * (D * D + D)),
    "self_attention(s, style=standard, project=false)": (("B", 5, D), 0),
    "self_attention(s, project=false, heads=4)": (("B", 5, D), D * D),  # AutoInt's W_res only
    "self_attention(s, style=standard, head_dim=3, output_proj=0, bias=false)": (("B", 5, 6), 3 * D * 6),
    "self_attention(s, bias=true, output_proj=4, heads=1)": (("B", 5, 4), 3 * (D * D + D) + D * 4 + 4 + D * 4),
    # cross: queries 8 wide, keys 6, values 8 (or the keys)
    "cross_attention(query=s, keys=t, heads=4)": (("B", 5, D), (D + 6 + 6) * D + 3 * D + D * D + D),
    "cross_attention(query=a, keys=t, values=s, heads=2)": (("B", 1, D), (D + 6 + D) * D + 3 * D + D * D + D),
    "cross_attention(query=[a, b], keys=s, project=false)": (("B", 2, D), 0),
    "cross_attention(query=s, keys=t, style=autoint, heads=1)": (("B", 5, D), D * D + 6 * D + 6 * D + D * D),
}


@pytest.mark.parametrize("statement", list(KNOWN))
def test_shapes_and_counts(tmp_path, statement):
    node = check(tmp_path, f"block x = {statement}").node("x")
    assert (node.type.shape, node.params) == KNOWN[statement]


def test_a_sequence_query_gives_a_sequence_and_fields_give_fields(tmp_path):
    assert type(check(tmp_path, "block x = cross_attention(query=s, keys=u)").node("x").type).__name__ == "SeqType"
    fields = check(tmp_path, "block x = cross_attention(query=[a, b], keys=u)").node("x").type
    assert type(fields).__name__ == "StackType"


REFUSED = [
    ("self_attention(s, style=standard, heads=3)", "width 8 is not divisible by heads=3", "heads"),
    ("self_attention(s, project=false, heads=3)", "which heads=3 does not divide", "heads"),
    ("self_attention(s, project=false, head_dim=4)", "head_dim needs project=true", "head_dim"),
    ("self_attention(s, project=false, bias=true)", "nothing to bias", "bias"),
    ("cross_attention(query=s, keys=t, project=false)", "queries and keys need one width, got 8 and 6", "project"),
    ("cross_attention(query=s, keys=s, values=u)", "values have 3 positions but keys have 5", "values"),
]


@pytest.mark.parametrize("statement,message,at", REFUSED)
def test_impossible_options_are_refused_at_the_argument(tmp_path, statement, message, at):
    line = f"block x = {statement}"
    with pytest.raises(SpecErrors) as caught:
        check(tmp_path, line)
    (error,) = [e for e in caught.value.errors if e.severity == "error"]
    assert message in error.message
    assert error.span.line == HEAD.count("\n") + 1
    assert line[:error.span.column - 1].endswith(f"{at}="), (line, error.span.column)  # under the value
