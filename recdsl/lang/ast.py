"""The spec as plain frozen dataclasses. Spans are kept but ignored by equality,
so the same spec read from .rec and from YAML compares equal."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from recdsl.lang.span import UNKNOWN, Span

STATEMENT_KINDS = ("feature", "group", "pool", "gate", "block", "output")


@dataclass(frozen=True)
class Name:
    """A bare identifier: a reference to a declared name, or an enum value (`dice`)."""

    id: str
    span: Span = field(default=UNKNOWN, compare=False, repr=False)


@dataclass(frozen=True)
class Str:
    value: str
    span: Span = field(default=UNKNOWN, compare=False, repr=False)


@dataclass(frozen=True)
class Num:
    value: int | float
    span: Span = field(default=UNKNOWN, compare=False, repr=False)


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span = field(default=UNKNOWN, compare=False, repr=False)


@dataclass(frozen=True)
class ListExpr:
    items: tuple["Expr", ...]
    span: Span = field(default=UNKNOWN, compare=False, repr=False)


@dataclass(frozen=True)
class KwArg:
    name: str
    value: "Expr"
    span: Span = field(default=UNKNOWN, compare=False, repr=False)


@dataclass(frozen=True)
class Call:
    """`op(positional..., key=value...)`; `span` covers the whole call, `op_span` the op name."""

    op: str
    args: tuple["Expr", ...] = ()
    kwargs: tuple[KwArg, ...] = ()
    span: Span = field(default=UNKNOWN, compare=False, repr=False)
    op_span: Span = field(default=UNKNOWN, compare=False, repr=False)

    def kwarg(self, name: str) -> KwArg | None:
        return next((k for k in self.kwargs if k.name == name), None)


Expr = Union[Name, Str, Num, Bool, ListExpr, Call]


@dataclass(frozen=True)
class Statement:
    """`kind name = value` (`feature name : value`); value is a Call, or a ListExpr for a group."""

    kind: str
    name: str
    value: Expr
    span: Span = field(default=UNKNOWN, compare=False, repr=False)
    name_span: Span = field(default=UNKNOWN, compare=False, repr=False)


@dataclass(frozen=True)
class Spec:
    name: str
    doc: str
    statements: tuple[Statement, ...]
    file: str = field(default="<spec>", compare=False)
    span: Span = field(default=UNKNOWN, compare=False, repr=False)


def walk(expr: Expr):
    """Yield `expr` and every expression nested in it, depth first (without recursion, so any depth works)."""
    stack = [expr]
    while stack:
        expr = stack.pop()
        yield expr
        if isinstance(expr, ListExpr):
            stack.extend(reversed(expr.items))
        elif isinstance(expr, Call):
            stack.extend(reversed(expr.args + tuple(kw.value for kw in expr.kwargs)))
