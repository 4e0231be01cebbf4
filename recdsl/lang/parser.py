"""Text -> AST. One lark LALR parse, one Transformer pass; syntax errors become SpecErrors
(recdsl.lang.recovery finds every broken statement)."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import lark
from lark import v_args
from lark.visitors import Transformer_NonRecursive

from recdsl.lang import ast
from recdsl.lang.errors import SpecErrors
from recdsl.lang.recovery import syntax_errors
from recdsl.lang.span import Span


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
        raise SpecErrors(syntax_errors(text, file, _parse_chunk), {file: text}) from None
    header, statements = _ToAst(file).transform(tree)
    _, name, doc, span = header
    return ast.Spec(name, doc, statements, file, span)


def _parse_chunk(text: str) -> None:
    """Parse one statement (or the header) alone: recovery's unit."""
    _lark().parse(text, start="chunk")


def parse_file(path: str | Path) -> ast.Spec:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), str(path))
