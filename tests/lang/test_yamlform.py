"""The YAML form: exact text, round trips (also against .rec and the formatter), spans and errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recdsl.lang import ast
from recdsl.lang.errors import SpecErrors
from recdsl.lang.formatter import format_spec
from recdsl.lang.parser import parse, parse_file
from recdsl.lang.yamlform import dump_yaml, load_yaml
from recdsl.ops import load

SPEC_FILES = sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.rec"))

TINY = '''\
model tiny "A \\"tiny\\" model: v1"
feature user_id : id(buckets=100_000, dim=16, l2=1e-06)
feature gender  : category(vocab=["M", "F", "NO", ""], dim=4)   # a comment
group user = [user_id, gender]
block deep = mlp(user, units=[64, 32], dropout=0.1, gate=poso(by=[user_id]))
output ctr = sigmoid(concat(deep), label=click, weight=-2)
'''

TINY_YAML = '''\
model: tiny
doc: 'A "tiny" model: v1'
spec:
  user_id: {feature: id, buckets: 100000, dim: 16, l2: 1.0e-06}
  gender: {feature: category, vocab: [M, F, 'NO', ''], dim: 4}
  user: {group: [user_id, gender]}
  deep: {block: mlp, args: [user], units: [64, 32], dropout: 0.1, gate: {poso: {by: [user_id]}}}
  ctr: {output: sigmoid, args: [{concat: [deep]}], label: !ref click, weight: -2}
'''

DIN = '''\
model din_ctr "CTR ranking with user-interest attention"
feature user_id    : id(buckets=100_000, dim=16)          # hashed id
feature gender     : category(vocab=["M", "F"], dim=4)
feature age        : numeric(normalize=standard, boundaries=[0.1, 1e-3, 1.5M, -2])
feature genres     : multi(category(vocab_file="genres.txt", dim=8), max_len=6, sep="|")
feature item_id    : id(buckets=20k, dim=16)
feature item_cate  : category(size=20, dim=8)
feature hist_items : sequence(of=item_id, max_len=50)
feature hist_cates : sequence(of=item_cate, max_len=50)
group user = [user_id, gender, age]
pool genres_vec = avg(genres)
pool interest   = din(query=[item_id, item_cate], keys=[hist_items, hist_cates],
                      units=[80, 40], activation=dice)
pool second     = attention(item_id, interest, score=scaled_dot, transform=true, share=interest)
gate fields = senet([user, genres_vec, item_id, item_cate, interest], reduction=3)
block cross = cross(fields, layers=2)
block deep  = mlp(fields, units=[256, 128, 64], dropout=0.1, gate=poso(by=[user_id, age]))
output ctr  = sigmoid(concat(cross, deep), weight=1.0)
output watch = linear(deep, label="watch_time", weight=0.5)
'''

TAGGED = r'''
model tagged
feature g : category(vocab_file=genres, vocab=[M, "F", "say \"hi\"", "new\nline", "tab\t", "007", "yes", "1e3"])
pool p = din(query="item", keys=[h], share="other", activation="dice", units=[1.5, "x"])
block b = fancy(args=1, pool=2, gate=3, feature=[], nested(args=true, group=f()), "text")
block m = mlp(x, gate=poso(by=a), share=m2, norm=null, flag=True)
output o = sigmoid(x, label=click, weight=false)
group empty = []
group mixed = [a, "text", 3, true, f(x), [a, "b"]]
'''


def errors_of(text: str) -> list:
    with pytest.raises(SpecErrors) as excinfo:
        load_yaml(text, "spec.yaml")
    return excinfo.value.errors


def test_exact_yaml_text():
    assert dump_yaml(parse(TINY)) == TINY_YAML
    assert load_yaml(TINY_YAML) == parse(TINY)


@pytest.mark.parametrize("text", [TINY, DIN, TAGGED], ids=["tiny", "din", "tagged"])
def test_rec_yaml_rec_roundtrip(text):
    spec = parse(text)
    dumped = dump_yaml(spec)
    loaded = load_yaml(dumped)
    assert loaded == spec
    assert dump_yaml(loaded) == dumped
    assert parse(format_spec(loaded)) == spec


def test_tags_appear_only_where_the_registry_default_does_not_fit():
    dumped = dump_yaml(parse(TAGGED))
    for expected in ['vocab_file: !ref genres', 'vocab: [!ref M, F, say "hi", "new\\nline", "tab\\t", \'007\', \'yes\',',
                     'query: !str "item"', 'share: !str "other"', 'activation: !str "dice"',
                     '!kw args: 1', '!kw pool: 2', '!kw gate: 3', '!kw feature: []',
                     '{nested: {!kw args: true, group: {f: {}}}}', '!str "text"',
                     "gate: {poso: {by: a}}", "share: m2", "norm: 'null'", "flag: 'True'", "label: !ref click"]:
        assert expected in dumped, expected


def test_header_only_spec():
    assert dump_yaml(parse("model m")) == "model: m\nspec: {}\n"
    assert load_yaml("model: m\n") == load_yaml("model: m\ndoc:\nspec:\n") == parse("model m")


def test_plain_yaml_scalars_follow_the_registry():
    spec = load_yaml('model: m\nspec:\n  g: {feature: category, vocab: [NO, yes, on, "007", 1e3]}\n'
                     '  s: {feature: sequence, of: g, max_len: 1_000, sep: x}\n')
    assert spec.statements[0].value.kwargs[0].value.items == (
        ast.Str("NO"), ast.Str("yes"), ast.Str("on"), ast.Str("007"), ast.Num(1000.0))
    assert spec.statements[1].value.kwargs == (
        ast.KwArg("of", ast.Name("g")), ast.KwArg("max_len", ast.Num(1000)), ast.KwArg("sep", ast.Str("x")))


def test_spans_point_into_the_yaml_file():
    spec = load_yaml(TINY_YAML, "tiny.yaml")
    deep = spec.statements[3]
    assert (spec.file, spec.span.line) == ("tiny.yaml", 1)
    assert (deep.name_span.file, deep.name_span.line, deep.name_span.column) == ("tiny.yaml", 7, 3)
    assert (deep.value.op_span.line, deep.value.op_span.column) == (7, 17)
    units = deep.value.kwarg("units")
    assert (units.span.column, units.value.span.column, units.value.items[1].span.column) == (36, 43, 48)
    gate = deep.value.kwarg("gate").value
    assert (gate.op, gate.op_span.column, gate.kwargs[0].value.items[0].span.column) == ("poso", 74, 86)


def test_block_style_for_long_statements_still_roundtrips():
    members = ", ".join(f"feature_number_{i}" for i in range(12))
    spec = parse(f"model m\ngroup g = [{members}]\nblock b = mlp(g, units=[{', '.join(['512'] * 30)}])")
    dumped = dump_yaml(spec)
    assert "  g:\n    group:\n    - feature_number_0\n" in dumped
    assert max(len(line) for line in dumped.splitlines()) <= 100 + 5 * 30
    assert load_yaml(dumped) == spec


def test_duplicate_statement_names_cannot_be_dumped():
    spec = parse("model m\nfeature a : id(buckets=1)\nfeature a : id(buckets=2)")
    with pytest.raises(SpecErrors, match="`a` is defined twice"):
        dump_yaml(spec)


def test_duplicate_keyword_arguments_reach_the_checker():
    spec = load_yaml("model: m\nspec:\n  a: {feature: id, dim: 1, dim: 2}\n")
    assert [kw.name for kw in spec.statements[0].value.kwargs] == ["dim", "dim"]
    assert load_yaml(dump_yaml(spec)) == spec


ERRORS = [
    ("model: m\nspec:\n  a: {feature: id, buckets: [1, 2}\n", "invalid YAML", 3),
    ("model: m\nspec:\n\ta: {feature: id}\n", "invalid YAML", 3),
    ("model: m\nspec: [a]\n", "`spec` must be a mapping", 2),
    ("", "the YAML spec is empty", 1),
    ("- model\n", "a YAML spec is a mapping", 1),
    ("doc: a model\nspec: {}\n", "the spec has no `model:` name", 1),
    ("model: m\nmodle: n\n", "unknown key `modle`", 2),
    ("model: m\nmodel: n\n", "`model` is given twice (first on line 1)", 2),
    ("model: [m]\n", "model name must be a name, not a list", 1),
    ("model: 3m\n", "`3m` is not a valid model name", 1),
    ("model: m\ndoc: 42\n", "`doc` must be text", 2),
    ("model: m\nspec:\n  a: {units: [1]}\n", "statement `a` has no kind", 3),
    ("model: m\nspec:\n  a: {}\n", "statement `a` must be a mapping", 3),
    ("model: m\nspec:\n  a: mlp\n", "statement `a` must be a mapping", 3),
    ("model: m\nspec:\n  a: {blok: mlp, units: [1]}\n", "unknown statement kind `blok`", 3),
    ("model: m\nspec:\n  a: {block: mlp, pool: din}\n", "statement `a` has two kinds, `block` and `pool`", 3),
    ("model: m\nspec:\n  a: {group: [x], block: y}\n", "has two kinds", 3),
    ("model: m\nspec:\n  a: {pool: avg, args: [x]}\n  b: {pool: avg, args: [x]}\n  a: {pool: sum, args: [x]}\n",
     "`a` is defined twice (first on line 3)", 5),
    ("model: m\nspec:\n  a: {output: sigmoid, args: [{concat: [x], weight: 1}]}\n",
     "a nested call is a mapping with one key", 3),
    ("model: m\nspec:\n  a: {output: sigmoid, args: [{}]}\n", "a nested call is a mapping with one key", 3),
    ("model: m\nspec:\n  a: {output: sigmoid, args: [{concat: x}]}\n", "the arguments of `concat` must be", 3),
    ("model: m\nspec:\n  a: {block: mlp, args: x}\n", "`args` of mlp must be a list", 3),
    ("model: m\nspec:\n  a: {block: mlp, args: [x], args: [y]}\n", "`args` is given twice", 3),
    ("model: m\nspec:\n  a: {block: mlp, units: }\n", "a value is missing here", 3),
    ("model: m\nspec:\n  a: {block: [mlp]}\n", "op name must be a name, not a list", 3),
    ("model: m\nspec:\n  a: {block: mlp, 1: 2}\n", "argument name must be a name, not `1`", 3),
    ("model: m\nspec:\n  a: {group: x}\n", "group `a` must list its members", 3),
    ("model: m\nspec:\n  a: {group: [x], units: 1}\n", "group `a` takes only its member list", 3),
    ("model: m\nspec:\n  a: {pool: din, activation: leaky relu}\n", "`leaky relu` is not a valid name", 3),
    ("model: m\nspec:\n  a: {pool: din, activation: !ref true}\n", "`true` is not a valid name", 3),
    ("model: m\nspec:\n  a: {pool: din, units: !foo 3}\n", "unsupported YAML tag `!foo`", 3),
    ("model: m\nspec:\n  a: {pool: din, units: !ref [1]}\n", "unsupported YAML tag `!ref` on a list", 3),
    ("model: m\nspec:\n  a: {pool: din, units: !!int x}\n", "`x` is not a whole number", 3),
    ("model: m\nspec:\n  a: &u {pool: din}\n  b: *u\n", "aliases (*name) are not supported", 4),
    # numbers hold what 64 bits hold, as in .rec (recdsl.lang.numbers)
    ("model: m\nspec:\n  a: {feature: id, l2: .inf}\n", "number too large: .inf", 3),
    ("model: m\nspec:\n  a: {feature: id, l2: -.inf}\n", "number too large: -.inf", 3),
    ("model: m\nspec:\n  a: {feature: id, l2: .nan}\n", "`.nan` is not a number", 3),
    ("model: m\nspec:\n  a: {feature: id, l2: 1e309}\n", "number too large: 1e309", 3),
    ("model: m\nspec:\n  a: {feature: id, l2: 1e-400}\n", "number too small: 1e-400", 3),
    ("model: m\nspec:\n  a: {feature: id, buckets: 9223372036854775808}\n", "number too large", 3),
    (f"model: m\nspec:\n  a: {{feature: id, buckets: {'9' * 5000}}}\n", "number too large", 3),
]


@pytest.mark.parametrize("text, message, line", ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_errors_carry_message_and_line(text, message, line):
    errors = errors_of(text)
    assert message in errors[0].message
    assert (errors[0].span.file, errors[0].span.line) == ("spec.yaml", line)


def test_error_hints():
    assert "did you mean `block`?" in errors_of("model: m\nspec:\n  a: {blok: mlp}\n")[0].hint
    assert "tabs" in errors_of("model: m\nspec:\n\ta: 1\n")[0].hint
    assert "!kw pool:" in errors_of("model: m\nspec:\n  a: {block: mlp, pool: din}\n")[0].hint


def test_every_broken_statement_is_reported_with_its_source_line():
    text = "model: m\nspec:\n  a: {blok: mlp}\n  b: {pool: avg, args: [x]}\n  c: {pool: avg, args: 3}\n"
    with pytest.raises(SpecErrors) as excinfo:
        load_yaml(text, "spec.yaml")
    assert [e.span.line for e in excinfo.value.errors] == [3, 5]
    assert "5 |   c: {pool: avg, args: 3}" in str(excinfo.value)


# --- properties -------------------------------------------------------------------------

REGISTRY = load()
NAMES = ["a", "x", "user_id", "dice", "args", "pool", "group", "feature", "model", "yes", "NO", "null", "on",
         "True", "_1", "y2"]
OPS = sorted(REGISTRY) + ["foo", "args", "group"]
TRICKY = ["", "yes", "007", "1e3", "true", " lead", "a: b", "#c", "x, y", '"q"', "back\\", "new\nline", "tab\t",
          "ü", "!ref a", "-", "[a]", "{b}", "cr\r", "\x85", "\u2028", "\x00", "'", "*x", "&y", "? z", "%"]
texts = st.sampled_from(TRICKY) | st.text(max_size=6)
leaves = st.one_of(st.sampled_from(NAMES).map(ast.Name), texts.map(ast.Str),
                   st.integers(-10**12, 10**12).map(ast.Num), st.floats(allow_nan=False, allow_infinity=False).map(ast.Num),
                   st.booleans().map(ast.Bool))


@st.composite
def calls(draw, children):
    op = draw(st.sampled_from(OPS))
    slots = list(REGISTRY[op].slots) if op in REGISTRY else []
    args = draw(st.lists(children, max_size=3))
    kwargs = draw(st.lists(st.tuples(st.sampled_from(slots + NAMES), children), max_size=3))
    return ast.Call(op, tuple(args), tuple(ast.KwArg(k, v) for k, v in kwargs))


exprs = st.recursive(leaves, lambda children: st.lists(children, max_size=3).map(
    lambda items: ast.ListExpr(tuple(items))) | calls(children), max_leaves=8)


@st.composite
def specs(draw):
    statements = []
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=5)):
        kind = draw(st.sampled_from(ast.STATEMENT_KINDS))
        value = (ast.ListExpr(tuple(draw(st.lists(exprs, max_size=3)))) if kind == "group"
                 else draw(calls(exprs)))
        statements.append(ast.Statement(kind, name, value))
    return ast.Spec(draw(st.sampled_from(NAMES)), draw(texts), tuple(statements))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_random_specs_roundtrip_through_rec_and_yaml(spec):
    text = format_spec(spec)
    assert parse(text) == spec
    assert format_spec(parse(text)) == text
    dumped = dump_yaml(spec)
    assert load_yaml(dumped) == spec
    assert dump_yaml(load_yaml(dumped)) == dumped


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=list("{}[]:,-!&*#'\"|>?% \n\tmodelspcargsfuture01.~"), max_size=80))
def test_any_text_loads_or_raises_spec_errors(text):
    try:
        load_yaml(text)
    except SpecErrors as exc:
        assert exc.errors


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(TINY_YAML)), st.integers(0, 8), st.text(alphabet=list("{}[]:,-! \n\t'x1"), max_size=3))
def test_damaged_yaml_loads_or_raises_spec_errors(at, cut, insert):
    try:
        load_yaml(TINY_YAML[:at] + insert + TINY_YAML[at + cut:])
    except SpecErrors as exc:
        assert exc.errors


if SPEC_FILES:
    @pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
    def test_example_specs_roundtrip_through_yaml(path):
        spec = parse_file(path)
        assert load_yaml(dump_yaml(spec)) == spec
        assert parse(format_spec(load_yaml(dump_yaml(spec)))) == spec
