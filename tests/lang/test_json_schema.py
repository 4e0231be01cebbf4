"""The JSON Schema of the YAML form: a valid draft 2020-12 schema; every bundled spec's YAML form
validates; each kind of mistake is rejected at its place with a clear message (and the checker
rejects the same spec, so the schema never invents an error); registry docs reach the editor."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from recdsl.checker.checker import check
from recdsl.lang import ast
from recdsl.lang.errors import SpecErrors
from recdsl.lang.json_schema import spec_schema
from recdsl.lang.parser import parse, parse_file
from recdsl.lang.yaml_dialect import SpecLoader
from recdsl.lang.yamlform import dump_yaml, load_yaml
from recdsl.ops import load

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "specs").glob("*.rec")) + sorted((ROOT / "examples").rglob("*.rec"))
SCHEMA = spec_schema()
VALIDATOR = Draft202012Validator(SCHEMA)


class EditorView(SpecLoader):
    """The YAML as a language server sees it, with yaml.customTags: a tagged scalar is its text."""


for _tag in ("!ref", "!str", "!kw"):
    EditorView.add_constructor(_tag, lambda loader, node: loader.construct_scalar(node))


def problems(text: str) -> list[tuple[list, str]]:
    return [(list(e.absolute_path), e.message) for e in VALIDATOR.iter_errors(yaml.load(text, Loader=EditorView))]


BASE = """\
model: tiny
doc: a small model
spec:
  user_id: {feature: id, buckets: 1000, dim: 8}
  item_id: {feature: id, buckets: 1000, dim: 8}
  hist: {feature: sequence, of: item_id, max_len: 10}
  tags: {feature: multi, args: [{category: {vocab: [a, b], dim: 8}}], max_len: 3}
  interest: {pool: din, query: item_id, keys: hist}
  user: {group: [user_id, item_id, {avg: [tags]}]}
  deep: {block: mlp, args: [[user, interest]], units: [16, 8], gate: {poso: {by: [user_id]}}}
  ctr: {output: sigmoid, args: [{concat: [deep, user]}], weight: 1}
"""


def test_the_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_making_the_schema_imports_no_tensorflow_or_keras():
    code = "import sys, recdsl.lang.json_schema as s; s.schema_text(); print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("path", BUNDLED, ids=[str(p.relative_to(ROOT)) for p in BUNDLED])
def test_every_bundled_spec_validates(path):
    text = dump_yaml(parse_file(path))
    assert problems(text) == []
    # editors validate with draft-07 semantics (VS Code's YAML extension): no false error there either
    assert list(Draft7Validator(SCHEMA).iter_errors(yaml.load(text, Loader=EditorView))) == []


def test_the_base_spec_is_valid_for_the_schema_and_the_checker():
    assert problems(BASE) == []
    check(load_yaml(BASE))


@pytest.mark.parametrize("old, new, where, message", [
    ("units: [16, 8]", "unitz: [16, 8]", ["spec", "deep"],
     "Additional properties are not allowed ('unitz' was unexpected)"),
    ("units: [16, 8]", "dropout: 0.1", ["spec", "deep"], "'units' is a required property"),
    ("block: mlp", "block: mlpp", ["spec", "deep", "block"],
     "'mlpp' is not one of " + str([n for n, op in load().items() if op.family == "block"])),
    ("pool: din", "pool: mlp", ["spec", "interest", "pool"],
     "'mlp' is not one of " + str([n for n, op in load().items() if op.family == "pool"])),
    ("{concat: [deep, user]}", "{concatt: [deep, user]}", ["spec", "ctr", "args", 0],
     "Additional properties are not allowed ('concatt' was unexpected)"),
    ("keys: hist}", "keys: hist, activation: relux}", ["spec", "interest", "activation"],
     "'relux' is not one of ['dice', 'prelu', 'sigmoid', 'relu']"),
    ("id, buckets: 1000, dim: 8}\n  item", "id, buckets: 1000, dim: eight}\n  item", ["spec", "user_id", "dim"],
     "'eight' is not of type 'integer'"),
    ("units: [16, 8]", "units: [16, x]", ["spec", "deep", "units", 1], "'x' is not of type 'integer'"),
    ("id, buckets: 1000, dim: 8}\n  item", "id, buckets: 1000, dim: 0}\n  item", ["spec", "user_id", "dim"], "0 is less than the minimum of 1"),
    ("weight: 1", "weight: true", ["spec", "ctr", "weight"], "True is not of type 'number'"),
    ("poso:", "senet:", ["spec", "deep", "gate"], "Additional properties are not allowed ('senet' was unexpected)"),
    ("[user_id, item_id, {avg: [tags]}]}", "[user_id, item_id], dim: 3}", ["spec", "user"],
     "Additional properties are not allowed ('dim' was unexpected)"),
    ("doc: a small model", "doc: a small model\nmodle: x", [], "Additional properties are not allowed ('modle' was unexpected)"),
    ("args: [[user, interest]], units: [16, 8]",
     "args: [[user, interest], [16, 8], relu, 0.1, none, {poso: {by: user_id}}, 0.25, interest, x]",
     ["spec", "deep", "args"], "[['user', 'interest'], [16, 8], 'relu', 0.1, 'none', {'poso': {'by': 'user_id'}}, "
                              "0.25, 'interest', 'x'] is too long"),  # x and mlp's 7 arguments, then one more
])
def test_each_kind_of_mistake_is_rejected_where_it_is(old, new, where, message):
    assert BASE.count(old) == 1
    text = BASE.replace(old, new)
    assert (where, message) in problems(text)
    assert list(Draft7Validator(SCHEMA).iter_errors(yaml.load(text, Loader=EditorView)))  # editors see it too
    with pytest.raises(SpecErrors):  # the checker agrees: the schema reports no false error
        check(load_yaml(text))


@pytest.mark.parametrize("old, new", [
    ("units: [16, 8]", "units: 16"),  # one value for a list, as units=16 in .rec
    ("args: [[user, interest]], units: [16, 8]", "args: [[user, interest], [16, 8]]"),  # required, by position
    ("{concat: [deep, user]}", "{concat: {args: [deep, user]}}"),
    ("{poso: {by: [user_id]}}", "{poso: {by: user_id, units: 4}}"),
    ("of: item_id", "args: [item_id]"),
])
def test_other_spellings_of_a_valid_spec_are_accepted(old, new):
    text = BASE.replace(old, new)
    assert problems(text) == []
    check(load_yaml(text))


@pytest.mark.parametrize("op", sorted(load()), ids=str)
def test_every_ops_example_validates_with_each_value_of_each_enum_argument(op):
    spec = load()[op]
    example = parse(f"model m\n{spec.example}\n")
    assert problems(dump_yaml(example)) == []
    statement = example.statements[0]
    for param in (p for p in spec.params if p.kind == "enum"):
        for choice in param.choices:
            call = statement.value
            kwargs = tuple(k for k in call.kwargs if k.name != param.name) + (ast.KwArg(param.name, ast.Name(choice)),)
            changed = replace(example, statements=(replace(statement, value=replace(call, kwargs=kwargs)),))
            assert problems(dump_yaml(changed)) == [], (param.name, choice)


def test_an_argument_named_like_a_statement_kind_is_an_argument():
    """din's `output=` is written `output: sequence` (the loader takes `pool:` as the kind)."""
    text = BASE.replace("keys: hist}", "keys: hist, output: sequence}")
    assert problems(text) == []
    assert load_yaml(text).statements[4].value.kwarg("output").value.id == "sequence"
    wrong = BASE.replace("keys: hist}", "keys: hist, output: sigmoid}")
    assert (["spec", "interest", "output"], "'sigmoid' is not one of ['pooled', 'sequence']") in problems(wrong)


def test_registry_docs_reach_the_editor():
    registry, defs = load(), SCHEMA["$defs"]
    mlp = registry["mlp"]
    assert defs["mlp.statement"]["properties"]["block"] == {
        "const": "mlp", "description": f"{mlp.summary}\n\ne.g. {mlp.example}"}
    units = defs["mlp.units"]
    assert units["description"] == f"{mlp.param('units').doc}; required"
    assert defs["din.units"]["default"] == [80, 40]
    assert defs["mlp.activation"]["enum"] == list(mlp.param("activation").choices)
    assert (defs["mlp.dropout"]["type"], defs["mlp.dropout"]["minimum"], defs["mlp.dropout"]["maximum"]) == \
        ("number", 0.0, 0.99)
    assert set(defs["mlp.statement"]["properties"]) == {"block", "args", *mlp.slots}
    for name, op in registry.items():  # every op and argument is there, described
        assert defs[f"{name}.statement"]["properties"][op.family]["const"] == name
        for slot in op.slots:
            assert defs[f"{name}.{slot}"]["description"]
