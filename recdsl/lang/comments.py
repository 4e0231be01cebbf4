"""The comments of .rec text, attached to the statement or argument they belong to.

The grammar drops comments, so they are found here in the source text (a `#` inside a string is
not one) and attached by position to the parsed spec:

    # din.rec — …                      head: the block before `model`
    model din_ctr "…"  # v2            header_trailing
    # the towers                       leading of `deep`: own lines before the statement
    block deep = mlp(  # gated         opening: on the line of the call's name, before any part
        # why 3 layers                 before_part[1]: own lines before the part
        fields,
        units=[256, 128, 64],  # sizes  after_part[1]: on the line where the part ends
        # more soon                    dangling: after the last part
    )  # the deep tower                trailing: after the statement, on its last line
    # end                              end: after the last statement

Parts are the top-level arguments of the statement's call (a group's members). A comment inside
a nested call or list (`gate=poso(by=[a,  # x`) cannot stay there in the canonical layout: it
goes to its own line before the part that holds it. A comment between a statement's keyword and
its value goes with the statement's leading comments, one inside the header before the header.
Blank lines the author put between top-level items are kept as None in `head`, `leading` and
`end`. Every comment lands in exactly one place.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from recdsl.lang import ast

_STRING_OR_COMMENT = re.compile(r'"(?:\\.|[^"\\\n])*"|#[^\n]*')

Position = tuple[int, int]  # (line, column), 1-based like spans


@dataclass(frozen=True)
class Comment:
    """One `# …` comment: its text (trailing whitespace dropped) and where its `#` is."""

    text: str
    line: int
    column: int
    own_line: bool  # nothing but whitespace before it on its line

    @property
    def position(self) -> Position:
        return self.line, self.column


@dataclass
class StatementComments:
    """The comments of one statement; parts are numbered in the order the formatter writes them
    (positional arguments, then keyword arguments; a group's members)."""

    leading: list[str | None] = field(default_factory=list)
    trailing: str | None = None
    opening: str | None = None
    before_part: dict[int, list[str]] = field(default_factory=dict)
    after_part: dict[int, str] = field(default_factory=dict)
    dangling: list[str] = field(default_factory=list)

    @property
    def inside(self) -> bool:
        """True when a comment sits inside the value, so the value must be written one part per line."""
        return bool(self.opening or self.before_part or self.after_part or self.dangling)


@dataclass
class SpecComments:
    head: list[str | None] = field(default_factory=list)
    blank_after_head: bool = False
    header_trailing: str | None = None
    statements: list[StatementComments] = field(default_factory=list)
    end: list[str | None] = field(default_factory=list)


def find_comments(text: str) -> list[Comment]:
    """Every comment of `text`, in order. `text` must parse: then a `"` outside a comment opens
    a string and a `#` outside a string opens a comment, which is all this scan knows."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    found = []
    for match in _STRING_OR_COMMENT.finditer(text):
        if match.group().startswith('"'):
            continue
        line = bisect_right(line_starts, match.start())
        before = text[line_starts[line - 1]:match.start()]
        found.append(Comment(match.group().rstrip(), line, len(before) + 1, not before.strip()))
    return found


def parts(value: ast.Expr) -> list:
    """The parts a wrapped value puts one per line: a call's arguments (KwArg for keywords), a list's items."""
    if isinstance(value, ast.Call):
        return [*value.args, *value.kwargs]
    if isinstance(value, ast.ListExpr):
        return list(value.items)
    return []


def _start(node) -> Position:
    return node.span.line, node.span.column


def _end(node) -> Position:
    node = node.value if isinstance(node, ast.KwArg) else node
    return node.span.end_line, node.span.end_column


def attach(spec: ast.Spec, comments: list[Comment]) -> SpecComments:
    """Place every comment of the source of `spec` (a spec parsed from that source)."""
    out = SpecComments(statements=[StatementComments() for _ in spec.statements])
    items = [spec, *spec.statements]  # the header's span is spec.span
    inner: dict[int, list[Comment]] = {}
    pending: list[str | None] = []
    prev_end_line = None
    reached = 0  # items[:reached] start before the current comment

    def gap(line: int) -> list[None]:
        return [None] if prev_end_line is not None and line - prev_end_line >= 2 else []

    def reach(item_index: int) -> None:
        nonlocal pending, prev_end_line
        item = items[item_index]
        if item_index == 0:
            out.head, out.blank_after_head = pending, bool(gap(item.span.line))
        else:
            out.statements[item_index - 1].leading = pending + gap(item.span.line)
        pending, prev_end_line = [], item.span.end_line

    for comment in comments:
        while reached < len(items) and _start(items[reached]) <= comment.position:
            reach(reached)
            reached += 1
        holder = reached - 1
        if holder >= 0 and comment.position < _end(items[holder]):
            inner.setdefault(holder, []).append(comment)
        elif holder >= 0 and comment.line == prev_end_line:
            if holder == 0:
                out.header_trailing = comment.text
            else:
                out.statements[holder - 1].trailing = comment.text
        else:
            pending += gap(comment.line) + [comment.text]
            prev_end_line = comment.line
    for item_index in range(reached, len(items)):
        reach(item_index)
    out.end = pending
    out.head += [c.text for c in inner.pop(0, [])]  # inside the header: before it
    for holder, found in inner.items():
        _attach_inside(spec.statements[holder - 1], found, out.statements[holder - 1])
    return out


def _attach_inside(statement: ast.Statement, comments: list[Comment], notes: StatementComments) -> None:
    value = statement.value
    numbered = parts(value)
    in_source_order = sorted(range(len(numbered)), key=lambda i: _start(numbered[i]))
    starts = [_start(numbered[i]) for i in in_source_order]
    opening_line = value.op_span.line if isinstance(value, ast.Call) else value.span.line
    for comment in comments:
        if comment.position < _start(value):
            notes.leading.append(comment.text)
            continue
        k = bisect_left(starts, comment.position)  # parts in_source_order[:k] start before it
        if k == 0:
            if comment.line == opening_line and notes.opening is None:
                notes.opening = comment.text
            elif numbered:
                notes.before_part.setdefault(in_source_order[0], []).append(comment.text)
            else:
                notes.dangling.append(comment.text)
            continue
        part = in_source_order[k - 1]
        end = _end(numbered[part])
        if comment.position < end:  # inside a nested call or list: before the argument that holds it
            notes.before_part.setdefault(part, []).append(comment.text)
        elif comment.line == end[0] and part not in notes.after_part:
            notes.after_part[part] = comment.text
        elif k < len(numbered):
            notes.before_part.setdefault(in_source_order[k], []).append(comment.text)
        else:
            notes.dangling.append(comment.text)
