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
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.numbers import NumberOutOfRange, parse_number
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


def unescape(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def escape(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


class _ToAst(Transformer_NonRecursive):
    """Parse tree -> AST. A number out of range is recorded in `errors` (and read as 0), so one
    run reports them all; the parser raises them after the pass."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file
        self.errors: list[SpecError] = []

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
        span = self._tok(children[0])
        try:
            return ast.Num(parse_number(children[0]), span)
        except NumberOutOfRange as problem:
            self.errors.append(SpecError(span, problem.message, problem.hint))
            return ast.Num(0, span)

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
    to_ast = _ToAst(file)
    header, statements = to_ast.transform(tree)
    if to_ast.errors:
        raise SpecErrors(to_ast.errors, {file: text})
    _, name, doc, span = header
    return ast.Spec(name, doc, statements, file, span)


def _parse_chunk(text: str) -> None:
    """Parse one statement (or the header) alone: recovery's unit."""
    _lark().parse(text, start="chunk")


def parse_file(path: str | Path) -> ast.Spec:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), str(path))
