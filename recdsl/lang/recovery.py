"""Error recovery for the .rec parser: after a failed parse, cut the text into statements and
parse each alone (at its original line and column), so one run reports every broken statement,
each with a message and a hint written for the person who typed it."""
from __future__ import annotations

import re
from typing import Callable

import lark

from recdsl.lang import ast
from recdsl.lang.errors import SpecError
from recdsl.lang.span import Span, source_lines
from recdsl.lang.suggest import did_you_mean

KEYWORDS = ("model",) + ast.STATEMENT_KINDS
# `keyword name` starts a new chunk anywhere; any other word at column 0 does only where the
# brackets before it are balanced (else it continues a call).
_KEYWORD_START = re.compile(r"^[ \t]*(?:" + "|".join(KEYWORDS) + r")[ \t]+(?=[A-Za-z_])", re.MULTILINE)
_WORD_START = re.compile(r"^[A-Za-z_]", re.MULTILINE)
_NOT_CODE = re.compile(r'"(\\.|[^"\\\n])*"|#[^\n]*')
_BRACKETS = re.compile(r"[()\[\]]")


def syntax_errors(text: str, file: str, parse_chunk: Callable[[str], object]) -> list[SpecError]:
    """Every broken statement of `text`, found by re-parsing it statement by statement with
    `parse_chunk` (which parses one statement, or the header, and raises lark's UnexpectedInput)."""
    starts = sorted({0, *_chunk_starts(text), len(text)})
    errors: list[SpecError] = []
    headers: list[int] = []
    lines_before, counted = 0, 0  # newlines in text[:begin], counted as we go (linear in the text)
    for begin, end in zip(starts, starts[1:]):
        lines_before += text.count("\n", counted, begin)
        counted = begin
        chunk = text[begin:end]
        if _only_comments(chunk):
            continue
        line = lines_before + 1 + chunk[:len(chunk) - len(chunk.lstrip())].count("\n")
        if re.match(r"\s*model\b", chunk):
            headers.append(line)
        try:
            parse_chunk(chunk)
        except lark.exceptions.UnexpectedInput as exc:
            at = _Origin(lines_before + 1, begin - (text.rfind("\n", 0, begin) + 1) + 1)
            errors.append(_syntax_error(exc, chunk, file, at))
    first = _first_code_line(text)
    if first not in headers:
        errors.append(SpecError(Span.point(file, first, 1), "a spec starts with a `model` header",
                                'begin the file with: model my_model "what it predicts"'))
    for extra in headers[1:]:
        errors.append(SpecError(Span.point(file, extra, 1, 5), "a spec has one `model` header",
                                "put each model in its own .rec file"))
    if not errors:
        errors.append(SpecError(Span.point(file, first, 1), "the spec does not parse", ""))
    return errors


def _chunk_starts(text: str) -> list[int]:
    starts = [m.start() + len(m.group()) - len(m.group().lstrip(" \t")) for m in _KEYWORD_START.finditer(text)]
    code = _NOT_CODE.sub(lambda m: " " * len(m.group()), text)
    depth, position = 0, 0
    for m in _WORD_START.finditer(code):
        segment = code[position:m.start()]
        depth = max(depth + segment.count("(") + segment.count("[") - segment.count(")") - segment.count("]"), 0)
        position = m.start()
        if depth == 0:
            starts.append(m.start())
    return starts


def _only_comments(chunk: str) -> bool:
    return all(not ln.strip() or ln.strip().startswith("#") for ln in source_lines(chunk))


def _first_code_line(text: str) -> int:
    for n, ln in enumerate(source_lines(text), 1):
        if ln.strip() and not ln.strip().startswith("#"):
            return n
    return 1


class _Origin:
    """Where a chunk starts in the file: maps a (line, column) in the chunk to one in the file."""

    def __init__(self, line: int, column: int):
        self.line, self.column = line, column

    def __call__(self, line: int, column: int) -> tuple[int, int]:
        return self.line + line - 1, column + (self.column - 1 if line == 1 else 0)


_TOKEN_NAMES = {
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "EQUAL": "'='",
    "COLON": "':'", "NAME": "a name", "STRING": "a string", "NUMBER": "a number",
    "$END": "end of file",
}


def _describe(token_type: str) -> str:
    if token_type in _TOKEN_NAMES:
        return _TOKEN_NAMES[token_type]
    return f"`{token_type.lower()}`"


def _syntax_error(exc: lark.exceptions.UnexpectedInput, text: str, file: str, at: _Origin) -> SpecError:
    """The error for the chunk `text`, parsed alone; `at` places its positions in the file."""
    line, column = at(max(exc.line, 1), max(exc.column, 1))
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        return _bad_character(exc, text, file, line, column)
    token = getattr(exc, "token", None)
    expected = sorted(getattr(exc, "expected", None) or getattr(exc, "accepts", None) or [])
    if token is None or token.type == "$END":
        return SpecError(Span.point(file, *at(*_last_code_position(text))), "the statement ends too early",
                         _unclosed_hint(text) or _expected_hint(expected) or "finish the statement")
    start = at(token.line, token.column)
    end = at(token.end_line or token.line, token.end_column or token.column + len(token))
    span = Span(file, *start, *end)
    got = f"`{token}`" if token.type != "STRING" else "a string"
    message = f"unexpected {got}"
    hint = _expected_hint(expected)
    if token.type == "NAME" and set(expected) & {k.upper() for k in KEYWORDS}:
        message = f"unknown statement `{token}`"
        guess = did_you_mean(str(token), KEYWORDS)
        hint = (guess + "; " if guess else "") + "statements start with " + ", ".join(KEYWORDS[1:])
    elif token.type == "EQUAL" and "COLON" in expected:
        hint = "features are declared with ':' — feature name : id(buckets=1000, dim=16)"
    elif token.type == "COLON" and "EQUAL" in expected:
        hint = "only features use ':'; write `pool name = op(...)`"
    elif "COMMA" in expected and ("RPAR" in expected or "RSQB" in expected):
        # The LALR expected set may hold both closers; the innermost open bracket decides.
        inner = _innermost_open(text, token.start_pos) if token.start_pos is not None else None
        in_list = inner == "[" if inner is not None else "RPAR" not in expected
        if in_list:
            hint = "expected ',' between list items or ']' to close the list"
        else:
            hint = "expected ',' between arguments or ')' to close the call"
    return SpecError(span, message, hint)


def _bad_character(exc, text: str, file: str, line: int, column: int) -> SpecError:
    char = exc.char
    span = Span.point(file, line, column)
    if char == '"':
        return SpecError(span, "unterminated string", 'close the string with " on the same line')
    if char == "'":
        return SpecError(span, "strings use double quotes", 'write "text", not \'text\'')
    return SpecError(span, f"unexpected character {char!r}",
                     _expected_hint(sorted(exc.allowed or [])) or "remove it")


def _expected_hint(expected: list[str]) -> str:
    names = sorted({_describe(t) for t in expected if not t.startswith("__")})
    if not names:
        return ""
    if len(names) > 6:
        return ""
    return "expected " + " or ".join(names)


def _last_code_position(text: str) -> tuple[int, int]:
    lines = source_lines(text)
    for n in range(len(lines), 0, -1):
        code = lines[n - 1].split("#", 1)[0].rstrip()
        if code:
            return n, len(code) + 1
    return 1, 1


def _innermost_open(text: str, offset: int) -> str | None:
    """The bracket still open at `offset` ("(" or "["), ignoring strings and comments; None if none."""
    stack = _open_brackets(text[:offset])
    return stack[-1] if stack else None


def _unclosed_hint(text: str) -> str:
    """Name the bracket left open last, ignoring strings and comments."""
    stack = _open_brackets(text)
    if not stack:
        return ""
    return "close the call with ')'" if stack[-1] == "(" else "close the list with ']'"


def _open_brackets(text: str) -> list[str]:
    """The brackets ("(" or "[") still open at the end of `text`, innermost last, ignoring
    strings and comments (and any closer with nothing open)."""
    stack: list[str] = []
    for char in _BRACKETS.findall(_NOT_CODE.sub("", text)):
        if char in "([":
            stack.append(char)
        elif char in ")]" and stack:
            stack.pop()
    return stack
