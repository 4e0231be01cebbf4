"""The canonical .rec formatter: exact layout, number spelling, wrapping, and the round trip."""
from __future__ import annotations

from pathlib import Path

import pytest

from recdsl.lang import ast
from recdsl.lang.errors import SpecErrors
from recdsl.lang.formatter import WIDTH, format_expr, format_number, format_spec
from recdsl.lang.parser import parse, parse_file

SPEC_FILES = sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.rec"))

DIN = '''\
# din.rec — DIN over the click sequence
model din_ctr "CTR ranking with user-interest attention"

feature user_id    : id(buckets=100_000, dim=16)          # hashed id
feature gender : category(vocab=["M", "F"], dim=4)
feature age        : numeric(normalize=standard)
feature genres     : multi(category(vocab_file="genres.txt", dim=8), max_len=6)
feature item_id    : id(buckets=20k, dim=16)
feature item_cate  : category(size=20, dim=8)
feature hist_items : sequence(of=item_id, max_len=50)
feature hist_cates : sequence(of=item_cate, max_len=50)
group user = [user_id, gender, age]
pool genres_vec = avg(genres)
pool interest = din(query=[item_id, item_cate], keys=[hist_items, hist_cates],
                      units=[80, 40], activation=dice)
gate fields = senet([user, genres_vec, item_id, item_cate, interest], reduction=3)
block cross = cross(fields, layers=2)   # DCN-v2
block deep  = mlp(fields, units=[256, 128, 64], dropout=0.1,
                  gate=poso(by=[user_id, age]),)
output ctr  = sigmoid(concat(cross, deep), weight=1.0)
output watch = linear(deep, weight=0.5, label="watch_time")
'''

DIN_FORMATTED = '''\
model din_ctr "CTR ranking with user-interest attention"

feature user_id    : id(buckets=100_000, dim=16)
feature gender     : category(vocab=["M", "F"], dim=4)
feature age        : numeric(normalize=standard)
feature genres     : multi(category(vocab_file="genres.txt", dim=8), max_len=6)
feature item_id    : id(buckets=20_000, dim=16)
feature item_cate  : category(size=20, dim=8)
feature hist_items : sequence(of=item_id, max_len=50)
feature hist_cates : sequence(of=item_cate, max_len=50)

group user = [user_id, gender, age]

pool genres_vec = avg(genres)
pool interest   = din(
    query=[item_id, item_cate],
    keys=[hist_items, hist_cates],
    units=[80, 40],
    activation=dice,
)

gate fields = senet([user, genres_vec, item_id, item_cate, interest], reduction=3)

block cross = cross(fields, layers=2)
block deep  = mlp(fields, units=[256, 128, 64], dropout=0.1, gate=poso(by=[user_id, age]))

output ctr   = sigmoid(concat(cross, deep), weight=1.0)
output watch = linear(deep, weight=0.5, label="watch_time")
'''

ODD = r'''
model odd   # no doc
feature a : id(buckets=1.5M, dim=-2, l2=1e-3)
block b = mlp(a, units=[], dropout=0.1, norm=none, flag=true, off=false, big=123456789, tiny=1e-06)
block c = f()
feature d : category(vocab=["say \"hi\"", "back\\slash", "tab\there", "new\nline", "# not a comment", ""])
pool e = din(query=a, keys=a, share="not_a_ref")
feature g : category(vocab_file=genres, vocab=[M, "F"])
output h = sigmoid(concat(a, [b, [c]], nested(x=[1, 2.5, -3]), "str"))
group empty = []
group mixed = [a, "text", 3, true, f(x), [a]]
'''


def roundtrip(text: str) -> str:
    spec = parse(text)
    formatted = format_spec(spec)
    assert parse(formatted) == spec
    assert format_spec(parse(formatted)) == formatted
    return formatted


def test_design_example_has_the_canonical_layout():
    assert roundtrip(DIN) == DIN_FORMATTED


def test_odd_constructs_roundtrip():
    formatted = roundtrip(ODD)
    assert formatted.startswith("model odd\n\nfeature a : id(buckets=1_500_000, dim=-2, l2=0.001)\n\nblock b = ")
    assert r'vocab=["say \"hi\"", "back\\slash", "tab\there", "new\nline", "# not a comment", ""]' in formatted
    assert 'share="not_a_ref"' in formatted and "vocab_file=genres" in formatted
    assert "#" not in formatted.replace('"# not a comment"', "")


def test_statement_runs_are_separated_and_padded_per_run():
    text = "model m\nfeature a : id(buckets=5)\nfeature long_name : id(buckets=5)\npool p = avg(a)\n" \
           "feature z : id(buckets=5)\n"
    assert format_spec(parse(text)) == (
        "model m\n\n"
        "feature a         : id(buckets=5)\n"
        "feature long_name : id(buckets=5)\n\n"
        "pool p = avg(a)\n\n"
        "feature z : id(buckets=5)\n")


def test_header_only():
    assert format_spec(parse('model m ""')) == "model m\n"
    assert format_spec(parse('model m "a \\"doc\\""')) == 'model m "a \\"doc\\""\n'


@pytest.mark.parametrize("value, text", [
    (100_000, "100_000"), (20_000, "20_000"), (1_500_000, "1_500_000"), (9999, "9999"), (10_000, "10_000"),
    (-2, "-2"), (-12_345, "-12_345"), (0, "0"), (0.1, "0.1"), (0.001, "0.001"), (1e-06, "1e-06"),
    (2.0, "2.0"), (1e16, "1e+16"), (5e-324, "5e-324"), (-1.7976931348623157e308, "-1.7976931348623157e+308"),
    (9_223_372_036_854_775_807, "9_223_372_036_854_775_807"),
])
def test_numbers(value, text):
    assert format_number(value) == text
    assert parse(f"model m\nblock b = f({text})").statements[0].value.args[0] == ast.Num(value)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_have_no_spelling(value):
    with pytest.raises(ValueError, match="no .rec spelling"):
        format_number(value)


def test_expressions():
    call = ast.Call("f", (ast.Name("a"), ast.ListExpr((ast.Str('q"'), ast.Bool(False)))),
                    (ast.KwArg("k", ast.Call("g")),))
    assert format_expr(call) == 'f(a, ["q\\"", false], k=g())'


def test_long_statements_wrap_one_argument_per_line():
    units = ", ".join(["1024"] * 12)
    text = f"model m\nblock deep = mlp(fields, units=[{units}], gate=poso(by=[a, b]))\n" \
           f"group g = [{', '.join(f'member_{i}' for i in range(15))}]\n"
    formatted = roundtrip(text)
    lines = formatted.splitlines()
    assert lines[2:7] == ["block deep = mlp(", "    fields,", f"    units=[{units}],",
                          "    gate=poso(by=[a, b]),", ")"]
    assert lines[8] == "group g = [" and lines[9] == "    member_0," and lines[-1] == "]"


def test_an_argument_too_long_for_its_line_is_opened_too():
    """A list of plain values is filled (15 of `1024,` reach column 97 at 8 spaces); a call gets one
    part per line, at every depth."""
    units = ", ".join(["1024"] * 20)
    vocab = ", ".join(f'"word_{i:02}"' for i in range(12))
    text = f"model m\nblock deep = mlp(fields, units=[{units}], gate=poso(by=[a, b]))\n" \
           f"feature g : multi(category(vocab=[{vocab}], dim=8), max_len=6)\n"
    lines = roundtrip(text).splitlines()
    assert lines[2:10] == ["block deep = mlp(", "    fields,", "    units=[",
                           "        " + ", ".join(["1024"] * 15) + ",", "        " + ", ".join(["1024"] * 5) + ",",
                           "    ],", "    gate=poso(by=[a, b]),", ")"]
    assert all(len(line) <= WIDTH for line in lines)
    assert lines[11:] == ["feature g : multi(", "    category(", "        vocab=[",
                          "            " + ", ".join(f'"word_{i:02}"' for i in range(8)) + ",",
                          "            " + ", ".join(f'"word_{i:02}"' for i in range(8, 12)) + ",",
                          "        ],", "        dim=8,", "    ),", "    max_len=6,", ")"]


def test_a_value_longer_than_a_line_stays_whole():
    word = '"' + "w" * 120 + '"'
    lines = roundtrip(f"model m\nfeature g : category(vocab=[{word}, {word}])\n").splitlines()
    assert lines[2:] == ["feature g : category(", "    vocab=[", f"        {word},", f"        {word},", "    ],", ")"]


def test_lines_that_fit_are_not_wrapped():
    name = "x" * (WIDTH - len("block b = f()"))
    line = f"block b = f({name})"
    assert len(line) == WIDTH
    assert format_spec(parse(f"model m\n{line}")).splitlines()[2] == line
    assert "(\n" in format_spec(parse(f"model m\nblock b = f({name}y)"))


def test_keywords_are_names_where_the_grammar_allows_them():
    roundtrip("model feature\nfeature model : id(feature=group, pool=1)\ngroup group = [model, output]")


if SPEC_FILES:
    @pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
    def test_example_specs_roundtrip(path):
        spec = parse_file(path)
        formatted = format_spec(spec)
        assert parse(formatted) == spec
        assert format_spec(parse(formatted)) == formatted


@pytest.mark.parametrize("literal", ["1.001k", "0.29M", "1e300k", "9223372036854775807", "-9223372036854775807",
                                     "5e-324", "1.7976931348623157e308", "1.0001k", "1e-5k", "0.0", "-0.0"])
def test_numbers_at_the_edges_of_the_range_roundtrip(literal):
    roundtrip(f"model m\nblock b = f({literal}, v=[{literal}])\n")


def test_a_number_past_the_range_never_reaches_the_formatter():
    """`9...9M` (4,300 digits) used to parse and then crash `convert --to rec`; it is refused when read."""
    with pytest.raises(SpecErrors, match="number too large"):
        parse("model m\nblock b = f(" + "9" * 4300 + "M)\n")
