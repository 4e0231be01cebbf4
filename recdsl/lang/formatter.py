"""AST -> canonical .rec text: one layout for every spec, so a diff shows only real changes.

    model din_ctr "CTR ranking with user-interest attention"

    feature user_id    : id(buckets=100_000, dim=16)
    feature hist_items : sequence(of=item_id, max_len=50)

    pool genres_vec = avg(genres)
    pool interest   = din(query=[item_id, item_cate], keys=[hist_items, hist_cates], units=[80, 40])

Statements keep their order; a blank line separates runs of one kind, and names are padded
within a run. A statement longer than WIDTH puts one top-level argument per line. Comments
are not part of the AST, so formatting drops them. `parse(format_spec(s)) == s` for every
spec the parser can produce.
"""
from __future__ import annotations

import math
from itertools import groupby

from recdsl.lang import ast
from recdsl.lang.errors import SpecErrors
from recdsl.lang.limits import deep_recursion, too_deep
from recdsl.lang.parser import escape

WIDTH = 100
INDENT = "    "


def format_spec(spec: ast.Spec) -> str:
    """The canonical .rec text of `spec`, ending in a newline. Raises SpecErrors if it nests too deeply."""
    header = f"model {spec.name}" + (f" {escape(spec.doc)}" if spec.doc else "")
    runs = [list(run) for _, run in groupby(spec.statements, key=lambda st: st.kind)]
    with deep_recursion():
        return "\n\n".join([header, *(_format_run(run) for run in runs)]) + "\n"


def format_expr(expr: ast.Expr) -> str:
    """One expression on one line: `din(query=[a, b], units=[80, 40])`."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Str):
        return escape(expr.value)
    if isinstance(expr, ast.Bool):
        return "true" if expr.value else "false"
    if isinstance(expr, ast.Num):
        return format_number(expr.value)
    if isinstance(expr, ast.ListExpr):
        return "[" + ", ".join(format_expr(item) for item in expr.items) + "]"
    if isinstance(expr, ast.Call):
        return f"{expr.op}(" + ", ".join(_arguments(expr)) + ")"
    raise TypeError(f"not an expression: {expr!r}")


def format_number(value: int | float) -> str:
    """`100_000`, `-2`, `0.1`, `1e-06`: text the parser reads back to the same value. Raises
    ValueError for infinities and NaN, which no spec holds."""
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if not math.isfinite(value):  # the parser and the YAML loader refuse them (recdsl.lang.numbers)
        raise ValueError(f"{value} has no .rec spelling: numbers of a spec are finite")
    return repr(value)


def _format_run(run: list[ast.Statement]) -> str:
    pad = max(len(st.name) for st in run)
    return "\n".join(_format_statement(st, pad) for st in run)


def _format_statement(st: ast.Statement, pad: int) -> str:
    head = f"{st.kind} {st.name.ljust(pad)} {':' if st.kind == 'feature' else '='} "
    try:
        line = head + format_expr(st.value)
    except RecursionError:
        raise SpecErrors([too_deep(st.name_span, f"to format `{st.name}`")]) from None
    if len(line) <= WIDTH:
        return line
    return head + _wrapped(st.value)


def _wrapped(value: ast.Expr) -> str:
    """The top-level call (or group list) with one argument per line."""
    if isinstance(value, ast.Call):
        opening, parts, closing = f"{value.op}(", _arguments(value), ")"
    elif isinstance(value, ast.ListExpr):
        opening, parts, closing = "[", [format_expr(item) for item in value.items], "]"
    else:
        return format_expr(value)
    if not parts:
        return format_expr(value)
    return opening + "\n" + "".join(f"{INDENT}{part},\n" for part in parts) + closing


def _arguments(call: ast.Call) -> list[str]:
    return [format_expr(arg) for arg in call.args] + [f"{kw.name}={format_expr(kw.value)}" for kw in call.kwargs]
