"""Rewrites the enum rule of syntaxes/recdsl.tmLanguage.json from the op registry: the names of
the enum parameters and all their choices, so `activation=dice` highlights `dice` as an enum
value while `query=dice` (a reference) does not. Run it after adding an enum argument to an op:

    python editors/vscode/scripts/enum_rule.py

tests/editors/test_textmate_grammar.py fails, naming this script, when the rule is behind."""
from __future__ import annotations

import json
import re
from pathlib import Path

from recdsl.ops import load

GRAMMAR = Path(__file__).resolve().parents[1] / "syntaxes" / "recdsl.tmLanguage.json"
WORDS = re.compile(r"\((?!\?)([A-Za-z0-9_|]+)\)")


def longest_first(words: set[str]) -> str:
    return "|".join(sorted(words, key=lambda word: (-len(word), word)))


def enum_parameters() -> dict[str, set[str]]:
    """Every enum parameter name of the registry -> the union of its choices over all ops."""
    found: dict[str, set[str]] = {}
    for op in load().values():
        for param in op.params:
            if param.choices:
                found.setdefault(param.name, set()).update(param.choices)
    return found


def enum_rule_match(old: str, parameters: dict[str, set[str]]) -> str:
    """`old` with its first alternation set to the parameter names and its second to the choices."""
    names, choices = longest_first(set(parameters)), longest_first(set().union(*parameters.values()))
    replacements = iter([names, choices])
    return WORDS.sub(lambda m: f"({next(replacements, m.group(1))})", old, count=2)


def main() -> None:
    text = GRAMMAR.read_text(encoding="utf-8")
    old = json.loads(text)["repository"]["enum_argument"]["match"]
    new = enum_rule_match(old, enum_parameters())
    encode = lambda pattern: json.dumps(pattern)[1:-1]  # noqa: E731 - as the JSON file spells it
    GRAMMAR.write_text(text.replace(encode(old), encode(new)), encoding="utf-8")
    print("enum rule up to date" if new == old else f"rewrote the enum rule of {GRAMMAR.name}")


if __name__ == "__main__":
    main()
