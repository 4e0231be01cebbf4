"""The TextMate grammar (editors/vscode/syntaxes/recdsl.tmLanguage.json) against the language
it highlights: its keywords are the lark grammar's keywords, its number rules accept exactly
the lark NUMBER terminal, and its enum rule knows every enum parameter and choice of the op
registry. Op names are not listed: any `name(` is an op call, so a new op needs no change
(test_vscode.py tokenizes a call of every registered op to show it)."""
from __future__ import annotations

import importlib.util
import itertools
import json
import re
from pathlib import Path

import lark

from recdsl.lang.parser import grammar_path
from recdsl.ops import load

GRAMMAR = Path(__file__).resolve().parents[2] / "editors" / "vscode" / "syntaxes" / "recdsl.tmLanguage.json"


def textmate() -> dict:
    return json.loads(GRAMMAR.read_text(encoding="utf-8"))


def lark_terminals() -> dict:
    parser = lark.Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", start="start")
    return {terminal.name: terminal.pattern for terminal in parser.terminals}


def alternatives(pattern: str, group: int) -> set[str]:
    """The words of the `group`-th `(a|b|c)` alternation of a TextMate pattern."""
    groups = re.findall(r"\((?!\?)([A-Za-z0-9_|]+)\)", pattern)
    return set(groups[group].split("|"))


def lark_keywords() -> set[str]:
    return {p.value for p in lark_terminals().values() if type(p).__name__ == "PatternStr" and p.value.isalpha()}


def test_keywords_are_the_lark_grammars():
    repo = textmate()["repository"]
    statements = alternatives(repo["statement"]["match"], 0)
    header = alternatives(repo["header"]["match"], 0)
    booleans = alternatives(repo["boolean"]["match"], 0)
    assert header == {"model"}
    assert booleans == {"true", "false"}
    assert statements | header | booleans == lark_keywords()


def enum_rule_script():
    """editors/vscode/scripts/enum_rule.py, which writes the enum rule from the registry."""
    path = GRAMMAR.parents[1] / "scripts" / "enum_rule.py"
    spec = importlib.util.spec_from_file_location("enum_rule", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def enum_parameters() -> dict[str, set[str]]:
    return enum_rule_script().enum_parameters()


def test_enum_rule_knows_every_enum_parameter_and_choice():
    script = enum_rule_script()
    match = textmate()["repository"]["enum_argument"]["match"]
    assert script.enum_rule_match(match, script.enum_parameters()) == match, (
        "the grammar's enum rule is behind the op registry: run python editors/vscode/scripts/enum_rule.py")
    registry = enum_parameters()
    assert alternatives(match, 0) == set(registry)
    assert alternatives(match, 1) == set().union(*registry.values())


def test_enum_rule_highlights_only_enum_values():
    match = re.compile(textmate()["repository"]["enum_argument"]["match"])
    assert match.search("activation=dice").group(3) == "dice"
    assert match.search("normalize = softmax").group(3) == "softmax"
    assert match.search("query=dice") is None  # a reference that happens to share an enum's name
    assert match.search("activation=dicey") is None
    assert match.search("output=sequence(of=x)") is None  # a call, not the enum value `sequence`


def number_candidates():
    """Strings around the NUMBER terminal's edges: signs, underscores, fractions, exponents, suffixes."""
    signs, heads, fractions = ["", "-", "+"], ["0", "7", "100_000", "1__0", "_1"], ["", ".5", ".0_1", ".", ".e3"]
    exponents, suffixes = ["", "e3", "E-10", "e+2", "e", "e-"], ["", "k", "M", "m", "x"]
    for parts in itertools.product(signs, heads, fractions, exponents, suffixes):
        yield "".join(parts)


def test_number_rules_accept_exactly_the_lark_number_terminal():
    lark_number = re.compile(lark_terminals()["NUMBER"].value)
    rules = [re.compile(rule["match"]) for rule in textmate()["repository"]["number"]["patterns"]]
    checked = 0
    for text in number_candidates():
        by_lark = lark_number.fullmatch(text) is not None
        by_textmate = any(rule.fullmatch(text) for rule in rules)
        assert by_textmate == by_lark, f"{text!r}: lark {'accepts' if by_lark else 'rejects'} it, the TextMate grammar does not"
        checked += by_lark
    assert checked > 100


def test_floats_and_integers_are_told_apart():
    float_rule, integer_rule = (re.compile(r["match"]) for r in textmate()["repository"]["number"]["patterns"])
    for text in ["0.1", "1e-3", "-0.5", "2.5E+2", "1.5M"]:
        assert float_rule.fullmatch(text) and not integer_rule.fullmatch(text), text
    for text in ["100_000", "-2", "20k", "0"]:
        assert integer_rule.fullmatch(text) and not float_rule.fullmatch(text), text


def test_names_and_strings_follow_the_lark_terminals():
    repo, terminals = textmate()["repository"], lark_terminals()
    call_name = repo["call"]["begin"].split(r"\s*")[0].removeprefix(r"\b(").removesuffix(")")
    assert call_name == terminals["NAME"].value
    assert repo["reference"]["match"] == rf"\b{terminals['NAME'].value}\b"
    assert repo["string"]["begin"] == '"' and repo["string"]["patterns"] == [
        {"match": r"\\.", "name": "constant.character.escape.recdsl"}
    ]
    for op in load():
        assert re.fullmatch(call_name, op), op
