"""Go to definition, find references, rename and the outline, over one Analysis.

Spans throughout (recdsl.lang.span.Span, 1-based, code points); the server turns them into LSP
ranges. Rename changes the declaration and every reference and nothing else: not an enum value
spelled the same (`activation=dice` beside a node named `dice`), not text in comments or strings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from recdsl.errors import RecdslError
from recdsl.lang.recovery import KEYWORDS
from recdsl.lang.span import Span
from recdsl.lsp.analysis import Analysis
from recdsl.lsp.occurrences import Occurrence
from recdsl.ops.types import shape_text

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED = KEYWORDS + ("true", "false")


class RenameRefused(RecdslError):
    """The word under the cursor cannot be renamed, or not to the name asked for."""


@dataclass(frozen=True)
class Symbol:
    """One outline entry: a statement's name, kind, op and shape, its whole span and its name's."""

    name: str
    kind: str  # feature | group | pool | gate | block | output
    detail: str
    span: Span
    name_span: Span


def _node_name(analysis: Analysis, line: int, column: int) -> Occurrence | None:
    found = analysis.at(line, column)
    return found if found is not None and found.role in ("definition", "reference") else None


def definition(analysis: Analysis, line: int, column: int) -> Span | None:
    """Where the name under the cursor is declared (None: not a name, or not declared)."""
    found = _node_name(analysis, line, column)
    target = analysis.definition(found.text) if found else None
    return target.span if target else None


def references(analysis: Analysis, line: int, column: int, include_declaration: bool = True) -> list[Span]:
    """Every use of the name under the cursor, in source order (and its declaration first, if asked)."""
    found = _node_name(analysis, line, column)
    if found is None:
        return []
    declared = analysis.definition(found.text)
    uses = [o.span for o in analysis.references(found.text)]
    return ([declared.span] if include_declaration and declared else []) + uses


def prepare_rename(analysis: Analysis, line: int, column: int) -> Span:
    """The span of the declared name under the cursor; raises RenameRefused naming what is there instead."""
    found = analysis.at(line, column)
    if found is None:
        raise RenameRefused("there is no name here to rename")
    if found.role == "keyword":
        raise RenameRefused(f"`{found.text}` is a keyword, not a name")
    if found.role == "op":
        raise RenameRefused(f"`{found.text}` is an op name; ops come from the registry")
    if found.role == "argument":
        raise RenameRefused(f"`{found.text}` is an argument of {found.op}")
    if found.role == "enum":
        raise RenameRefused(f"`{found.text}` is a value of {found.op}'s `{found.argument}`")
    if analysis.definition(found.text) is None:
        raise RenameRefused(f"`{found.text}` is not declared in this spec")
    return found.span


def rename(analysis: Analysis, line: int, column: int, new_name: str) -> list[Span]:
    """The spans to replace with `new_name`: the declaration and every reference."""
    prepare_rename(analysis, line, column)
    old = analysis.at(line, column).text
    if not NAME.fullmatch(new_name):
        raise RenameRefused(f"`{new_name}` is not a name", "names are letters, digits and _, not starting with a digit")
    if new_name in RESERVED:
        raise RenameRefused(f"`{new_name}` is a keyword")
    if new_name != old and new_name in analysis.statements:
        raise RenameRefused(f"`{new_name}` is already defined (line {analysis.definition(new_name).span.line})")
    return references(analysis, line, column, include_declaration=True)


def outline(analysis: Analysis) -> list[Symbol]:
    """Every statement that parsed, in source order, with its op and (when it checked) its shape."""
    out = []
    for st in analysis.spec.statements if analysis.spec else ():
        node = analysis.nodes.get(st.name)
        op = node.op if node else getattr(st.value, "op", "group" if st.kind == "group" else "")
        detail = f"{op} {shape_text(node.type)}" if node else op
        out.append(Symbol(st.name, st.kind, detail.strip(), st.span, st.name_span))
    return out
