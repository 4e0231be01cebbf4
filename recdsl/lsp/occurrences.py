"""Every word of a parsed spec that an editor can point at, with its role and span.

    Occurrence("definition", "interest", span)      the name a statement declares
    Occurrence("reference", "item_id", span)        a name used as an input, `of=` or `share=`
    Occurrence("op", "din", span, call=...)         an op name (a statement's or a nested call's)
    Occurrence("argument", "units", span, op="din") a keyword argument's name
    Occurrence("enum", "dice", span, op="din", argument="activation")  a bare enum value
    Occurrence("keyword", "pool", span)             the statement's keyword

A bare name is an enum value when the argument it fills (by keyword, or by position through the
op's slots) is an enum; anywhere else it names a node, declared or not.
"""
from __future__ import annotations

from dataclasses import dataclass

from recdsl.lang import ast
from recdsl.lang.span import Span
from recdsl.ops import load


@dataclass(frozen=True)
class Occurrence:
    role: str  # definition | reference | op | argument | enum | keyword
    text: str
    span: Span
    statement: str  # the name of the statement it is in
    op: str | None = None  # the op of the enclosing call (its own op for role "op")
    argument: str | None = None  # the slot it fills, where known
    call: ast.Call | None = None  # role "op": the call it names

    def contains(self, line: int, column: int) -> bool:
        """Whether a cursor at (line, column) touches it (just after its last character counts)."""
        s = self.span
        return s.line == line == s.end_line and s.column <= column <= s.end_column


def occurrences(spec: ast.Spec) -> tuple[Occurrence, ...]:
    """Every occurrence in source order."""
    found: list[Occurrence] = []
    for st in spec.statements:
        s = st.span
        found.append(Occurrence("keyword", st.kind, Span(s.file, s.line, s.column, s.line, s.column + len(st.kind)),
                                st.name))
        found.append(Occurrence("definition", st.name, st.name_span, st.name))
        _expr(st.value, st.name, None, None, found)
    return tuple(sorted(found, key=lambda o: (o.span.line, o.span.column)))


def _expr(expr: ast.Expr, owner: str, op: str | None, slot: str | None, found: list[Occurrence]) -> None:
    """`expr` fills `slot` of a call to `op` (None, None: a statement's value or a group's members)."""
    stack = [(expr, op, slot)]
    while stack:
        expr, op, slot = stack.pop()
        if isinstance(expr, ast.Name):
            role = "enum" if _is_enum(op, slot) else "reference"
            found.append(Occurrence(role, expr.id, expr.span, owner, op, slot))
        elif isinstance(expr, ast.ListExpr):
            stack.extend((item, op, slot) for item in expr.items)
        elif isinstance(expr, ast.Call):
            found.append(Occurrence("op", expr.op, expr.op_span, owner, expr.op, slot, expr))
            stack.extend((arg, expr.op, name) for arg, name in zip(expr.args, positional_slots(expr)))
            for kw in expr.kwargs:
                found.append(Occurrence("argument", kw.name, kw.span, owner, expr.op, kw.name))
                stack.append((kw.value, expr.op, kw.name))


def positional_slots(call: ast.Call) -> list[str | None]:
    """The slot each positional argument of `call` fills (None past the last, or for an unknown op)."""
    spec = load().get(call.op)
    if spec is None:
        return [None] * len(call.args)
    variadic = next((i.name for i in spec.inputs if i.variadic), None)
    if variadic is not None:
        return [variadic] * len(call.args)
    slots = list(spec.slots)
    return [slots[i] if i < len(slots) else None for i in range(len(call.args))]


def _is_enum(op: str | None, slot: str | None) -> bool:
    spec = load().get(op) if op else None
    param = spec.param(slot) if spec is not None and slot else None
    return param is not None and param.kind == "enum"


def at(found: tuple[Occurrence, ...], line: int, column: int) -> Occurrence | None:
    """The occurrence under a cursor; a word the cursor is inside wins over one it just follows."""
    touching = [o for o in found if o.contains(line, column)]
    inside = [o for o in touching if o.span.column <= column < o.span.end_column]
    return (inside or touching or [None])[0]
