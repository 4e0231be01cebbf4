"""AST -> canonical .rec text: one layout for every spec, so a diff shows only real changes.

    # din.rec — DIN over the click sequence
    model din_ctr "CTR ranking with user-interest attention"

    feature user_id    : id(buckets=100_000, dim=16)  # hashed id
    feature hist_items : sequence(of=item_id, max_len=50)

    pool genres_vec = avg(genres)
    pool interest   = din(
        query=[item_id, item_cate],
        keys=[hist_items, hist_cates],
        units=[80, 40],  # two layers
    )

Statements keep their order; a blank line separates runs of one kind, and names are padded
within a group of lines. A statement longer than WIDTH, or with a comment inside its value, puts
one top-level argument per line. `parse(format_spec(s)) == s` for every spec the parser can produce.

format_source formats text and keeps its comments (recdsl.lang.comments places them) and the
author's blank lines between statements: a blank line the author left stays as one blank line
(runs of them become one), and the formatter adds one where the statement kind changes (before
the comments that lead the statement). A blank line, whoever put it there, ends a group: names
are padded, and the trailing comments of one-line statements line up two spaces after the
longest commented line, within a group. Blank lines inside a call are not kept.
"""
from __future__ import annotations

import math

from recdsl.lang import ast
from recdsl.lang.comments import SpecComments, StatementComments, attach, find_comments, parts
from recdsl.lang.errors import SpecErrors
from recdsl.lang.limits import deep_recursion, too_deep
from recdsl.lang.parser import escape, parse

WIDTH = 100
INDENT = "    "


def format_spec(spec: ast.Spec) -> str:
    """The canonical .rec text of `spec`, ending in a newline. Raises SpecErrors if it nests too deeply."""
    return _layout(spec, SpecComments(statements=[StatementComments() for _ in spec.statements]))


def format_source(text: str, path: str = "<spec>") -> str:
    """`text` in the canonical layout, with its comments and blank-line grouping kept (see the
    module docstring). `parse(format_source(t)) == parse(t)`, format_source is idempotent, and every
    comment of `t` appears once in the result. Raises SpecErrors when `text` does not parse."""
    spec = parse(text, path)
    return _layout(spec, attach(spec, find_comments(text)))


def _layout(spec: ast.Spec, notes: SpecComments) -> str:
    header = f"model {spec.name}" + (f" {escape(spec.doc)}" if spec.doc else "")
    lines = [*_comment_lines(notes.head), *([""] * (notes.head != [] and notes.blank_after_head))]
    lines.append(header + (f"  {notes.header_trailing}" if notes.header_trailing else ""))
    with deep_recursion():
        for paragraph in _paragraphs(spec.statements, notes.statements):
            lines += _format_paragraph(paragraph)
    lines += _comment_lines(notes.end)
    return "\n".join(lines) + "\n"


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


def _paragraphs(statements, notes) -> list[list[tuple]]:
    """Statements in groups written without a blank line between them: a new group starts where
    the kind changes (the canonical run) or where the author left a blank line."""
    groups: list[list[tuple]] = []
    for i, (st, note) in enumerate(zip(statements, notes)):
        leading = _collapsed(note.leading)
        new_kind = i == 0 or statements[i - 1].kind != st.kind
        if new_kind and leading[:1] != [None]:
            leading = [None, *leading]
        if new_kind or None in leading:
            groups.append([])
        groups[-1].append((st, note, leading))
    return groups


def _collapsed(marks: list[str | None]) -> list[str | None]:
    """Runs of blank lines as one."""
    return [m for i, m in enumerate(marks) if m is not None or i == 0 or marks[i - 1] is not None]


def _comment_lines(marks: list[str | None], indent: str = "") -> list[str]:
    marks = _collapsed(marks)
    while marks and marks[-1] is None:
        marks = marks[:-1]
    return ["" if m is None else indent + m for m in marks]


def _format_paragraph(paragraph: list[tuple]) -> list[str]:
    """The lines of one group: names padded to the longest; the trailing comments of one-line
    statements line up two spaces after the longest of those lines."""
    pad = max(len(st.name) for st, _, _ in paragraph)
    written = [(note, leading, _format_statement(st, pad, note)) for st, note, leading in paragraph]
    commented = [len(body[0]) for note, _, body in written if note.trailing and len(body) == 1]
    column = max(commented, default=0) + 2
    lines = []
    for note, leading, body in written:
        lines += ["" if m is None else m for m in leading]
        if note.trailing:
            last = body[-1].ljust(column) if len(body) == 1 else body[-1] + "  "
            body = [*body[:-1], last + note.trailing]
        lines += body
    return lines


def _format_statement(st: ast.Statement, pad: int, note: StatementComments) -> list[str]:
    head = f"{st.kind} {st.name.ljust(pad)} {':' if st.kind == 'feature' else '='} "
    try:
        line = head + format_expr(st.value)
        if len(line) <= WIDTH and not note.inside:
            return [line]
        return _wrapped(head, st.value, note)
    except RecursionError:
        raise SpecErrors([too_deep(st.name_span, f"to format `{st.name}`")]) from None


def _wrapped(head: str, value: ast.Expr, note: StatementComments) -> list[str]:
    """The top-level call (or group list) with one part per line, each comment in its place."""
    if isinstance(value, ast.Call):
        opening, closing = f"{value.op}(", ")"
    elif isinstance(value, ast.ListExpr):
        opening, closing = "[", "]"
    else:
        return [head + format_expr(value)]
    texts = [f"{INDENT}{_part(part)}," for part in parts(value)]
    if not texts and not note.inside:
        return [head + format_expr(value)]
    column = max((len(texts[i]) for i in note.after_part), default=0) + 2
    lines = [head + opening + (f"  {note.opening}" if note.opening else "")]
    for i, text in enumerate(texts):
        lines += [INDENT + c for c in note.before_part.get(i, [])]
        lines.append(text.ljust(column) + note.after_part[i] if i in note.after_part else text)
    lines += [INDENT + c for c in note.dangling]
    return [*lines, closing]


def _part(part) -> str:
    return f"{part.name}={format_expr(part.value)}" if isinstance(part, ast.KwArg) else format_expr(part)


def _arguments(call: ast.Call) -> list[str]:
    return [format_expr(arg) for arg in call.args] + [f"{kw.name}={format_expr(kw.value)}" for kw in call.kwargs]
