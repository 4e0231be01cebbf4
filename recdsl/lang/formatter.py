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

Statements keep their order, in groups of lines with a blank line between groups. Within a
group the `:` / `=` line up (`kind name` is padded to the longest) and the trailing comments of
one-line statements line up two spaces after the longest commented line. A statement longer
than WIDTH, or with a comment inside its value, puts one top-level argument per line (never a
continuation aligned under the `(`: that moves whenever a name changes); an argument still too
long is opened the same way one level deeper, and a list of plain values (a vocabulary) is filled,
as many to a line as fit. format_spec writes
numbers in one spelling (format_number), groups runs of one kind, and
`parse(format_spec(s)) == s` for every spec the parser can produce.

format_source formats text and keeps what the author chose (it parses to the same AST):
- comments, each in its place (recdsl.lang.comments places them);
- the spelling of every number literal (`1_000`, `1e-4`, `0.10`, `20k`): only an exponent
  `E` is written `e`, as black does (recdsl.lang.numbers.tidy_spelling);
- the author's groups: a blank line the author left stays as one (runs of them become one), and
  statements written together stay together, of whatever kinds (`pool history = ...` then
  `block gap = ...`). The formatter adds a blank line only where the features start or end
  (declarations apart from the model) and after the header, before the comments that lead the
  statement. Blank lines inside a call are not kept.
"""
from __future__ import annotations

import math

from recdsl.lang import ast
from recdsl.lang.comments import SpecComments, StatementComments, attach, find_comments, parts
from recdsl.lang.errors import SpecErrors
from recdsl.lang.limits import deep_recursion, too_deep
from recdsl.lang.numbers import tidy_spelling
from recdsl.lang.parser import escape, parse
from recdsl.lang.span import source_lines

WIDTH = 100
INDENT = "    "

Spellings = dict[tuple[int, int], str]  # (line, column) of a number literal -> its text


def format_spec(spec: ast.Spec) -> str:
    """The canonical .rec text of `spec`, ending in a newline. Raises SpecErrors if it nests too deeply."""
    return _layout(spec, SpecComments(statements=[StatementComments() for _ in spec.statements]), {}, False)


def format_source(text: str, path: str = "<spec>") -> str:
    """`text` in the canonical layout, with its comments and blank-line grouping kept (see the
    module docstring). `parse(format_source(t)) == parse(t)`, format_source is idempotent, every
    comment of `t` appears once in the result, and every number literal as written (but `E` -> `e`).
    Raises SpecErrors when `text` does not parse."""
    spec = parse(text, path)
    return _layout(spec, attach(spec, find_comments(text)), number_spellings(spec, text), True)


def number_spellings(spec: ast.Spec, text: str) -> Spellings:
    """The literal text of every number of `spec` (parsed from `text`), by the position of its token."""
    lines = source_lines(text)
    found = {}
    for statement in spec.statements:
        for expr in ast.walk(statement.value):
            if isinstance(expr, ast.Num):
                span = expr.span
                found[span.line, span.column] = tidy_spelling(lines[span.line - 1][span.column - 1:span.end_column - 1])
    return found


def _layout(spec: ast.Spec, notes: SpecComments, spellings: Spellings, authored: bool) -> str:
    header = f"model {spec.name}" + (f" {escape(spec.doc)}" if spec.doc else "")
    lines = [*_comment_lines(notes.head), *([""] * (notes.head != [] and notes.blank_after_head))]
    lines.append(header + (f"  {notes.header_trailing}" if notes.header_trailing else ""))
    with deep_recursion():
        for paragraph in _paragraphs(spec.statements, notes.statements, authored):
            lines += _format_paragraph(paragraph, spellings)
    lines += _comment_lines(notes.end)
    return "\n".join(lines) + "\n"


def format_expr(expr: ast.Expr, spellings: Spellings | None = None) -> str:
    """One expression on one line: `din(query=[a, b], units=[80, 40])`. A number is written as
    `spellings` has it (by the position of its token), else by format_number."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Str):
        return escape(expr.value)
    if isinstance(expr, ast.Bool):
        return "true" if expr.value else "false"
    if isinstance(expr, ast.Num):
        written = spellings and spellings.get((expr.span.line, expr.span.column))
        return written or format_number(expr.value)
    if isinstance(expr, ast.ListExpr):
        return "[" + ", ".join(format_expr(item, spellings) for item in expr.items) + "]"
    if isinstance(expr, ast.Call):
        return f"{expr.op}(" + ", ".join(_part(part, spellings) for part in parts(expr)) + ")"
    raise TypeError(f"not an expression: {expr!r}")


def format_number(value: int | float) -> str:
    """`100_000`, `-2`, `0.1`, `1e-06`: text the parser reads back to the same value. Raises
    ValueError for infinities and NaN, which no spec holds."""
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if not math.isfinite(value):  # the parser and the YAML loader refuse them (recdsl.lang.numbers)
        raise ValueError(f"{value} has no .rec spelling: numbers of a spec are finite")
    return repr(value)


def _paragraphs(statements, notes, authored: bool) -> list[list[tuple]]:
    """Statements in groups written without a blank line between them. A new group starts where
    the author left a blank line, at the first statement, and where the kind changes: any change
    when not `authored` (runs of one kind), else only where the features start or end."""
    groups: list[list[tuple]] = []
    for i, (st, note) in enumerate(zip(statements, notes)):
        leading = _collapsed(note.leading)
        kinds = {st.kind, statements[i - 1].kind} if i else set()
        new_group = i == 0 or (len(kinds) == 2 and (not authored or "feature" in kinds))
        if new_group and leading[:1] != [None]:
            leading = [None, *leading]
        if new_group or None in leading:
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


def _format_paragraph(paragraph: list[tuple], spellings: Spellings) -> list[str]:
    """The lines of one group: `kind name` padded to the longest, so the `:` / `=` line up; the
    trailing comments of one-line statements line up two spaces after the longest of those lines."""
    pad = max(len(f"{st.kind} {st.name}") for st, _, _ in paragraph)
    written = [(note, leading, _format_statement(st, pad, note, spellings)) for st, note, leading in paragraph]
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


def _format_statement(st: ast.Statement, pad: int, note: StatementComments, spellings: Spellings) -> list[str]:
    head = f"{st.kind} {st.name}".ljust(pad) + (" : " if st.kind == "feature" else " = ")
    try:
        line = head + format_expr(st.value, spellings)
        if len(line) <= WIDTH and not note.inside:
            return [line]
        return _wrapped(head, st.value, note, spellings)
    except RecursionError:
        raise SpecErrors([too_deep(st.name_span, f"to format `{st.name}`")]) from None


def _wrapped(head: str, value: ast.Expr, note: StatementComments, spellings: Spellings) -> list[str]:
    """The top-level call (or group list) with one part per line, each comment in its place."""
    if not isinstance(value, (ast.Call, ast.ListExpr)) or not (parts(value) or note.inside):
        return [head + format_expr(value, spellings)]
    opening, closing = _brackets(value)
    bodies = [_part_lines(part, INDENT, spellings) for part in parts(value)]
    column = max((len(bodies[i][0]) for i in note.after_part if len(bodies[i]) == 1), default=0) + 2
    lines = [head + opening + (f"  {note.opening}" if note.opening else "")]
    for i, body in enumerate(bodies):
        lines += [INDENT + c for c in note.before_part.get(i, [])]
        if i in note.after_part:
            last = body[-1].ljust(column) if len(body) == 1 else body[-1] + "  "
            body = [*body[:-1], last + note.after_part[i]]
        lines += body
    lines += [INDENT + c for c in note.dangling]
    return [*lines, closing]


def _part_lines(part, indent: str, spellings: Spellings) -> list[str]:
    """`part,` on one line at `indent` when it fits in WIDTH. Else its call or list is opened over
    lines one level deeper: a list of plain values (a vocabulary) filled as many to a line as fit,
    anything else one part per line, each part laid out the same way."""
    line = f"{indent}{_part(part, spellings)},"
    value = part.value if isinstance(part, ast.KwArg) else part
    if len(line) <= WIDTH or not isinstance(value, (ast.Call, ast.ListExpr)) or not parts(value):
        return [line]
    opening, closing = _brackets(value)
    inner = indent + INDENT
    if isinstance(value, ast.ListExpr) and all(isinstance(item, _PLAIN) for item in value.items):
        body = _filled([format_expr(item, spellings) for item in value.items], inner)
    else:
        body = [text for p in parts(value) for text in _part_lines(p, inner, spellings)]
    name = f"{part.name}=" if isinstance(part, ast.KwArg) else ""
    return [f"{indent}{name}{opening}", *body, f"{indent}{closing},"]


_PLAIN = (ast.Name, ast.Str, ast.Num, ast.Bool)


def _filled(items: list[str], indent: str) -> list[str]:
    """`items` as lines of `indent` + `a, b, c,`, each as full as WIDTH allows (at least one item)."""
    lines = [indent + items[0] + ","]
    for item in items[1:]:
        if len(lines[-1]) + 1 + len(item) + 1 <= WIDTH:
            lines[-1] += f" {item},"
        else:
            lines.append(f"{indent}{item},")
    return lines


def _brackets(value: ast.Call | ast.ListExpr) -> tuple[str, str]:
    return (f"{value.op}(", ")") if isinstance(value, ast.Call) else ("[", "]")


def _part(part, spellings: Spellings | None) -> str:
    """A call's argument or a list's item: `name=value` for a keyword argument."""
    if isinstance(part, ast.KwArg):
        return f"{part.name}={format_expr(part.value, spellings)}"
    return format_expr(part, spellings)
