"""format_source keeps every number as the author spelt it (only an exponent `E` becomes `e`);
format_spec, which has no source (a YAML spec), writes format_number's canonical spelling.

The literals of input and output are read by an independent oracle: lark's lexer, with a
callback on the grammar's NUMBER terminal (the formatter slices them out of the text by span)."""
from __future__ import annotations

import re

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recdsl.lang.formatter import format_source, format_spec
from recdsl.lang.numbers import NumberOutOfRange, parse_number
from recdsl.lang.parser import grammar_path, parse
from recdsl.lang.yamlform import load_yaml

_SEEN: list[str] = []


def _seen(token: lark.Token) -> lark.Token:
    _SEEN.append(str(token))
    return token


_ORACLE = lark.Lark(grammar_path().read_text(), parser="lalr", start="start", lexer_callbacks={"NUMBER": _seen})


def lark_numbers(text: str) -> list[str]:
    """The number literals of `text`, in order, as lark's lexer reads them."""
    _SEEN.clear()
    _ORACLE.parse(text)
    return list(_SEEN)


def check_spelling_kept(text: str) -> str:
    """Format `text`; assert the same AST, every literal as written (E -> e) in order, a fixed point."""
    formatted = format_source(text)
    assert parse(formatted) == parse(text)
    assert lark_numbers(formatted) == [literal.replace("E", "e") for literal in lark_numbers(text)]
    assert format_source(formatted) == formatted
    return formatted


@pytest.mark.parametrize("written, kept", [
    ("1_000", "1_000"), ("1000", "1000"), ("100000", "100000"), ("1e-4", "1e-4"), ("1E-4", "1e-4"),
    ("0.10", "0.10"), ("0.1", "0.1"), ("20k", "20k"), ("1.5M", "1.5M"), ("007", "007"), ("1__0_", "1__0_"),
    ("-0.0", "-0.0"), ("1e+3", "1e+3"), ("2.50E+03", "2.50e+03"), ("1.0_0", "1.0_0"), ("-12_345", "-12_345"),
    ("1_000_000_000", "1_000_000_000"), ("5e-324", "5e-324"),
])
def test_each_literal_is_written_as_the_author_spelt_it(written, kept):
    text = f"model m\nfeature a : id(buckets={written})\nblock b = f({written}, v=[{written}, g(x={written})])\n"
    assert check_spelling_kept(text) == \
        f"model m\n\nfeature a : id(buckets={kept})\n\nblock b = f({kept}, v=[{kept}, g(x={kept})])\n"


def test_the_spelling_is_not_part_of_the_ast():
    assert parse("model m\nblock b = f(1_000, 1e-4, 0.10, 20k, 1.5M, 1E3)") == \
        parse("model m\nblock b = f(1000, 0.0001, 0.1, 20_000, 1500000, 1000.0)")


def test_format_spec_has_no_source_and_writes_the_canonical_spelling():
    text = "model m\nblock b = f(1_000, 1e-4, 0.10, 20k, 100000, l2=1E-6)\n"
    assert format_spec(parse(text)) == "model m\n\nblock b = f(1000, 0.0001, 0.1, 20_000, 100_000, l2=1e-06)\n"


def test_a_yaml_spec_converts_to_the_canonical_spelling():
    spec = load_yaml("model: m\nspec:\n  a: {feature: id, buckets: 100000, dim: 16, l2: 1.0e-04}\n")
    assert format_spec(spec) == "model m\n\nfeature a : id(buckets=100_000, dim=16, l2=0.0001)\n"


def test_the_spelling_decides_the_width_of_the_line():
    """A line is wrapped when the literals as written make it longer than WIDTH, not as canonical:
    `1000000` is canonically `1_000_000`, 2 characters longer (8 of them: 96 -> 111 characters)."""
    line = f"block b = f(x, [{', '.join(['1000000'] * 8)}], y=1.50)"
    assert len(line) == 96 and check_spelling_kept(f"model m\n{line}\n") == f"model m\n\n{line}\n"
    assert format_spec(parse(f"model m\n{line}\n")) == \
        f"model m\n\nblock b = f(\n    x,\n    [{', '.join(['1_000_000'] * 8)}],\n    y=1.5,\n)\n"


def test_spellings_survive_comments_and_crlf():
    text = "model m\r\nblock b = mlp(x,  # widths\r\n    units=[1_024, 0512],\r\n    l2=1E-5)  # small\r\n"
    assert check_spelling_kept(text) == \
        "model m\n\nblock b = mlp(\n    x,  # widths\n    units=[1_024, 0512],\n    l2=1e-5,\n)  # small\n"


# Random literals from the grammar's own NUMBER pattern, kept to the range a spec's numbers lie in.
_NUMBER = re.compile(r"-?\d[\d_]{0,5}(\.\d[\d_]{0,4})?([eE][+-]?\d{1,3})?[kM]?")


def _in_range(literal: str) -> bool:
    try:
        parse_number(literal)
    except NumberOutOfRange:
        return False
    return True


LITERALS = st.from_regex(_NUMBER, fullmatch=True).filter(_in_range)


def _values(literals):
    leaves = st.one_of(literals, st.sampled_from(["a", "item_id", "true", '"1e-4"']))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.builds(lambda op, args, kwargs: f"{op}(" + ", ".join(args + [f"k{i}={v}" for i, v in enumerate(kwargs)]) + ")",
                  st.sampled_from(["f", "mlp", "poso"]), st.lists(inner, max_size=3), st.lists(inner, max_size=3))),
        max_leaves=12)


@st.composite
def specs_with_numbers(draw) -> str:
    lines = ["model m"]
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["feature", "pool", "block", "output"]))
        args = draw(st.lists(_values(LITERALS), min_size=1, max_size=8))
        separator = draw(st.sampled_from([", ", ",\n    ", ",", " ,  "]))
        comment = draw(st.sampled_from(["", "  # 1E3 in a comment", "   # n"]))
        lines.append(f"{kind} s{i} {':' if kind == 'feature' else '='} f({separator.join(args)}){comment}")
        lines += [""] * draw(st.integers(0, 1))
    return "\n".join(lines) + "\n"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs_with_numbers())
def test_random_specs_keep_every_spelling_the_same_ast_and_a_fixed_point(text):
    check_spelling_kept(text)
