"""Parsing a document that does not parse: the statements that do are kept, so the checker
still reports on them and hover, completion and the outline still work while one is broken.

The parser's own recovery (recdsl.lang.recovery) reports every broken statement but returns no
AST. Here each statement holding an error is blanked (every character but the newlines becomes a
space, so every other position is unchanged) and the text parsed again, until it parses. What the
blanked statements declared or mentioned is remembered, so the checker's follow-on complaints
about them (an undefined name, a name never used, no output) can be dropped: they are not errors
of the statements that remain.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from recdsl.lang import ast
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.parser import parse
from recdsl.lang.recovery import KEYWORDS
from recdsl.lsp.positions import LineIndex

_NOT_CODE = re.compile(r'"(\\.|[^"\\\n])*"|#[^\n]*')
_LINE_WORD = re.compile(r"^([ \t]*)([A-Za-z_][A-Za-z0-9_]*)([ \t]+[A-Za-z_])?", re.MULTILINE)
_DECLARED = re.compile(r"\s*(?:" + "|".join(ast.STATEMENT_KINDS) + r")\s+([A-Za-z_][A-Za-z0-9_]*)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ROUNDS = 8  # re-parses at most; each blanks at least one more statement


@dataclass(frozen=True)
class BrokenStatement:
    """A statement left out of the AST: its text range [start, end) and the names it touches."""

    start: int
    end: int
    declares: str | None  # the name it declares, if it got that far
    kind: str | None  # its keyword, if it starts with one
    mentions: frozenset[str]


@dataclass(frozen=True)
class PartialParse:
    spec: ast.Spec | None  # None when not even a header could be kept
    syntax_errors: tuple[SpecError, ...]
    broken: tuple[BrokenStatement, ...]


def code_only(text: str) -> str:
    """`text` with strings and comments blanked to spaces (the same length)."""
    return _NOT_CODE.sub(lambda m: " " * len(m.group()), text)


def statement_starts(text: str) -> list[int]:
    """Where each statement (or the header) starts: a keyword followed by a name at the start of a
    line, or any word at column 0 where every bracket before it is closed (as recovery cuts it)."""
    code = code_only(text)
    starts, depth, position = [0], 0, 0
    for m in _LINE_WORD.finditer(code):
        segment = code[position:m.start()]
        depth = max(depth + segment.count("(") + segment.count("[") - segment.count(")") - segment.count("]"), 0)
        position = m.start()
        keyword = m.group(2) in KEYWORDS and m.group(3) is not None
        if keyword or (depth == 0 and not m.group(1)):
            starts.append(m.start(2))
    return sorted(set(starts))


def parse_partially(text: str, file: str) -> PartialParse:
    """The AST of every statement that parses, the syntax errors of the others, and what those declared."""
    index = LineIndex(text, "utf-32")
    starts = statement_starts(text) + [len(text)]
    current, errors, broken = text, [], {}
    for _ in range(_ROUNDS):
        try:
            spec = parse(current, file)
        except SpecErrors as failed:
            new = [e for e in failed.errors if e not in errors]
            errors.extend(new)
            regions = {_region(starts, index.offset(e.span.line, e.span.column)) for e in new}
            regions -= set(broken)
            if not new or not regions or not _has_header(current):
                return PartialParse(None, tuple(errors), ())
            for start, end in regions:
                broken[(start, end)] = _broken(text, start, end)
                current = _blank(current, start, end)
            continue
        return PartialParse(spec, tuple(errors), tuple(broken[r] for r in sorted(broken)))
    return PartialParse(None, tuple(errors), ())


def _region(starts: list[int], offset: int) -> tuple[int, int]:
    i = max(j for j, s in enumerate(starts[:-1]) if s <= offset) if offset >= starts[0] else 0
    return starts[i], starts[i + 1]


def _has_header(text: str) -> bool:
    return re.match(r"\s*model[ \t]+[A-Za-z_]", code_only(text)) is not None


def _blank(text: str, start: int, end: int) -> str:
    chunk = text[start:end]
    if re.match(r"model\b", chunk) and start == _first_code(text):
        kept = "model _"  # the header itself is broken: keep a header so the statements still parse
        if len(chunk.split("\n", 1)[0]) >= len(kept):
            return text[:start] + kept + re.sub(r"[^\n]", " ", chunk[len(kept):]) + text[end:]
    return text[:start] + re.sub(r"[^\n]", " ", chunk) + text[end:]


def _first_code(text: str) -> int:
    m = re.search(r"\S", code_only(text))
    return m.start() if m else 0


def _broken(text: str, start: int, end: int) -> BrokenStatement:
    code = code_only(text[start:end])
    declared = _DECLARED.match(code)
    kind = code.split(None, 1)[0] if code.strip() else None
    return BrokenStatement(start, end, declared.group(1) if declared else None,
                           kind if kind in ast.STATEMENT_KINDS else None, frozenset(_WORD.findall(code)))


def is_follow_on(problem: SpecError, broken: tuple[BrokenStatement, ...]) -> bool:
    """Whether a checker problem only follows from statements that were left out: a name they
    declare is undefined, a name they use looks unused, the output they declare is missing."""
    undefined = re.fullmatch(r"undefined name `([^`]+)`", problem.message)
    if undefined:
        return any(b.declares == undefined.group(1) for b in broken)
    unused = re.fullmatch(r"\w+ `([^`]+)` is never used", problem.message)
    if unused:
        return any(unused.group(1) in b.mentions for b in broken)
    return problem.message.endswith("has no output") and any(b.kind == "output" for b in broken)
