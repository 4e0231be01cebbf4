"""Text -> AST. One lark LALR parse, one Transformer pass; syntax errors become SpecErrors."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import lark
from lark import v_args
from lark.visitors import Transformer_NonRecursive

from recdsl.lang import ast
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.span import Span, source_lines
from recdsl.lang.suggest import did_you_mean

KEYWORDS = ("model",) + ast.STATEMENT_KINDS
# For error recovery only: `keyword name` starts a new chunk anywhere; any other word at
# column 0 does only where the brackets before it are balanced (else it continues a call).
_KEYWORD_START = re.compile(r"^[ \t]*(?:" + "|".join(KEYWORDS) + r")[ \t]+(?=[A-Za-z_])", re.MULTILINE)
_WORD_START = re.compile(r"^[A-Za-z_]", re.MULTILINE)
_NOT_CODE = re.compile(r'"(\\.|[^"\\\n])*"|#[^\n]*')


def grammar_path() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "grammar" / "recdsl.lark", here.parent / "grammar" / "recdsl.lark"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("grammar/recdsl.lark not found next to the recdsl package")


@lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    return lark.Lark(
        grammar_path().read_text(),
        parser="lalr",
        start=["start", "chunk"],
        propagate_positions=True,
        maybe_placeholders=False,
    )


def parse_number(text: str) -> int | float:
    """`100_000` -> 100000, `20k` -> 20000, `1.5M` -> 1500000, `0.1` -> 0.1."""
    body = text.replace("_", "")
    scale = {"k": 1_000, "M": 1_000_000}.get(body[-1], 1)
    if scale != 1:
        body = body[:-1]
    is_float = any(c in body for c in ".eE")
    value = float(body) * scale if is_float else int(body) * scale
    if isinstance(value, float) and scale != 1 and value.is_integer():
        return int(value)
    return value


def unescape(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def escape(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


class _ToAst(Transformer_NonRecursive):
    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _span(self, meta) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, tok) -> Span:
        return Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    @v_args(meta=True)
    def start(self, meta, children):
        header, *statements = children
        return header, tuple(statements)

    def chunk(self, children):
        return children[0]

    @v_args(meta=True)
    def header(self, meta, children):
        name = children[0]
        doc = unescape(children[1]) if len(children) > 1 else ""
        return ("header", str(name), doc, self._span(meta))

    def _statement(kind):
        @v_args(meta=True)
        def make(self, meta, children):
            name, value = children
            return ast.Statement(kind, str(name), value, self._span(meta), self._tok(name))

        return make

    feature = _statement("feature")
    group = _statement("group")
    pool = _statement("pool")
    gate = _statement("gate")
    block = _statement("block")
    output = _statement("output")

    @v_args(meta=True)
    def call(self, meta, children):
        op, *arguments = children
        args = tuple(a for a in arguments if not isinstance(a, ast.KwArg))
        kwargs = tuple(a for a in arguments if isinstance(a, ast.KwArg))
        return ast.Call(str(op), args, kwargs, self._span(meta), self._tok(op))

    def kwarg(self, children):
        name, value = children
        return ast.KwArg(str(name), value, self._tok(name))

    @v_args(meta=True)
    def list(self, meta, children):
        return ast.ListExpr(tuple(children), self._span(meta))

    def ref(self, children):
        return ast.Name(str(children[0]), self._tok(children[0]))

    def string(self, children):
        return ast.Str(unescape(children[0]), self._tok(children[0]))

    def number(self, children):
        return ast.Num(parse_number(children[0]), self._tok(children[0]))

    @v_args(meta=True)
    def true(self, meta, children):
        return ast.Bool(True, self._span(meta))

    @v_args(meta=True)
    def false(self, meta, children):
        return ast.Bool(False, self._span(meta))


def parse(text: str, file: str = "<spec>") -> ast.Spec:
    """Parse .rec text. Raises SpecErrors with every syntax error found (one per statement)."""
    try:
        tree = _lark().parse(text, start="start")
    except lark.exceptions.UnexpectedInput:
        raise SpecErrors(_collect_syntax_errors(text, file), {file: text}) from None
    header, statements = _ToAst(file).transform(tree)
    _, name, doc, span = header
    return ast.Spec(name, doc, statements, file, span)


def parse_file(path: str | Path) -> ast.Spec:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), str(path))


def _collect_syntax_errors(text: str, file: str) -> list[SpecError]:
    """Re-parse statement by statement so one run reports every broken statement."""
    starts = sorted({0, *_chunk_starts(text), len(text)})
    errors: list[SpecError] = []
    headers: list[int] = []
    for begin, end in zip(starts, starts[1:]):
        chunk = text[begin:end]
        if _only_comments(chunk):
            continue
        line = text.count("\n", 0, begin) + 1 + chunk[:len(chunk) - len(chunk.lstrip())].count("\n")
        if re.match(r"\s*model\b", chunk):
            headers.append(line)
        padded = _pad_to(text, begin) + chunk
        try:
            _lark().parse(padded, start="chunk")
        except lark.exceptions.UnexpectedInput as exc:
            errors.append(_syntax_error(exc, padded, file))
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


def _pad_to(text: str, offset: int) -> str:
    """Whitespace that puts a chunk starting at `offset` at its original line and column."""
    before = text[:offset]
    line_start = before.rfind("\n") + 1
    return "\n" * before.count("\n") + " " * (offset - line_start)


_TOKEN_NAMES = {
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "EQUAL": "'='",
    "COLON": "':'", "NAME": "a name", "STRING": "a string", "NUMBER": "a number",
    "$END": "end of file",
}


def _describe(token_type: str) -> str:
    if token_type in _TOKEN_NAMES:
        return _TOKEN_NAMES[token_type]
    return f"`{token_type.lower()}`"


def _syntax_error(exc: lark.exceptions.UnexpectedInput, text: str, file: str) -> SpecError:
    line, column = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        return _bad_character(exc, text, file, line, column)
    token = getattr(exc, "token", None)
    expected = sorted(getattr(exc, "expected", None) or getattr(exc, "accepts", None) or [])
    if token is None or token.type == "$END":
        return SpecError(Span.point(file, *_last_code_position(text)), "the statement ends too early",
                         _unclosed_hint(text) or _expected_hint(expected) or "finish the statement")
    span = Span(file, token.line, token.column, token.end_line or token.line,
                token.end_column or token.column + len(token))
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


def _innermost_open(text: str, offset: int) -> str | None:
    """The bracket still open at `offset` ("(" or "["), ignoring strings and comments; None if none."""
    stack: list[str] = []
    for char in _NOT_CODE.sub(lambda m: " " * len(m.group()), text[:offset]):
        if char in "([":
            stack.append(char)
        elif char in ")]" and stack:
            stack.pop()
    return stack[-1] if stack else None


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



def _unclosed_hint(text: str) -> str:
    """Name the bracket left open last, ignoring strings and comments."""
    stack: list[str] = []
    code = re.sub(r'"(\\.|[^"\\\n])*"|#[^\n]*', "", text)
    for char in code:
        if char in "([":
            stack.append(char)
        elif char in ")]" and stack:
            stack.pop()
    if not stack:
        return ""
    return "close the call with ')'" if stack[-1] == "(" else "close the list with ']'"
