"""Hover text (Markdown) for whatever word is under the cursor.

A node's name (where it is declared or used): its statement kind, op, inferred type and shape, and
trainable-parameter count, as the checker found them. An op name: the node that call makes (when
it checked), then the registry's reference for the op: summary, inputs, arguments with their
defaults, an example. An argument name or an enum value: that argument's kind, default and doc.
"""
from __future__ import annotations

from recdsl.checker.spec import Node
from recdsl.lang.formatter import format_number
from recdsl.lsp.analysis import Analysis
from recdsl.lsp.occurrences import Occurrence
from recdsl.ops import load
from recdsl.ops.params import REQUIRED, Param
from recdsl.ops.reference import op_section
from recdsl.ops.registry import ACCEPTS
from recdsl.ops.types import FieldListType, shape_text

KEYWORD_DOCS = {
    "feature": "`feature NAME : TYPE(...)` — a model input: an id, category, numeric, multi or sequence feature.",
    "group": "`group NAME = [a, b, ...]` — a named list of fields, usable wherever a list is.",
    "pool": "`pool NAME = OP(...)` — a bag or sequence reduced to one field (sum, avg, max, din, attention).",
    "gate": "`gate NAME = OP(...)` — fields or neurons re-weighted by learned gates (senet, poso).",
    "block": "`block NAME = OP(...)` — an interaction or transformation block (mlp, cross, fm, transformer...).",
    "output": "`output NAME = OP(...)` — a prediction head with its loss (sigmoid, linear).",
}


def hover_text(analysis: Analysis, occurrence: Occurrence) -> str | None:
    """Markdown for `occurrence`, or None when there is nothing to say."""
    if occurrence.role in ("definition", "reference"):
        return _name(analysis, occurrence.text)
    if occurrence.role == "op":
        node = analysis.node_of_call(occurrence.call) if occurrence.call is not None else None
        op = load().get(occurrence.text)
        parts = [node_summary(node)] if node is not None else []
        if op is not None:
            parts.append(op_section(occurrence.text))
        return "\n\n".join(parts) or None
    if occurrence.role in ("argument", "enum"):
        op = load().get(occurrence.op or "")
        if op is None or occurrence.argument is None:
            return None
        param = op.param(occurrence.argument)
        if param is not None:
            return param_text(occurrence.op, param)
        slot = next((i for i in op.inputs if i.name == occurrence.argument), None)
        return input_text(occurrence.op, slot) if slot is not None else None
    if occurrence.role == "keyword":
        return KEYWORD_DOCS.get(occurrence.text)
    return None


def _name(analysis: Analysis, name: str) -> str | None:
    node = analysis.nodes.get(name)
    if node is not None:
        return node_summary(node)
    st = analysis.statements.get(name)
    if st is None:
        return f"`{name}` is not defined in this spec"
    return f"```rec\n{st.kind} {name}\n```\n\n(not checked: it has an error, or depends on one with an error)"


def node_summary(node: Node) -> str:
    """```rec\\npool interest: din -> [B, 32]\\n``` and a line with the type and the parameter count."""
    head = f"{node.kind} {node.name}" if not node.anonymous else f"{node.name} (inline {node.kind})"
    lines = [f"```rec\n{head}: {node.op} -> {shape_text(node.type)}\n```",
             f"{type_text(node.type)}, **{node.params:,}** trainable parameter{'s' * (node.params != 1)}"]
    if node.shares:
        lines.append(f"shares the {node.share_kind} of `{node.shares}`")
    if node.inputs:
        feeds = "; ".join(f"{b.role}: " + ", ".join(f"`{m}`" for m in b.members) for b in node.inputs)
        lines.append(f"inputs — {feeds}")
    return "\n\n".join(lines)


def type_text(value_type) -> str:
    """`a sequence [B, 50, 16]`; a list of fields also names its members."""
    text = f"{value_type.describe} `{shape_text(value_type)}`"
    if isinstance(value_type, FieldListType):
        text += " of " + ", ".join(f"`{m}`" for m, _ in value_type.items)
    return text


def param_text(op: str, param: Param) -> str:
    """`din(activation=...)`: kind, default and doc of one argument."""
    kind = "one of " + ", ".join(f"`{c}`" for c in param.choices) if param.kind == "enum" else \
        " or ".join(f"`{c}(...)`" for c in param.calls) if param.kind == "call" else param.kind.replace("_", " ")
    default = "required" if param.default is REQUIRED else f"default `{default_text(param)}`"
    return f"```rec\n{op}({param.name}=...)\n```\n\n{kind}; {default}" + (f"\n\n{param.doc}" if param.doc else "")


def input_text(op: str, slot) -> str:
    """`din(keys=...)`: what an input slot accepts."""
    return f"```rec\n{op}({slot.name}=...)\n```\n\ninput: {ACCEPTS[slot.accepts]}" + \
        (f"\n\n{slot.doc}" if slot.doc else "")


def default_text(param: Param) -> str:
    """A parameter's default as .rec text: `[80, 40]`, `dice`, `true`, `"^"`; `unset` for None."""
    return value_text(param.default, param.kind)


def value_text(value, kind: str = "") -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, str):
        return f'"{value}"' if kind in ("str", "str_list") else value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v, kind) for v in value) + "]"
    return str(value)


def signature(op_name: str) -> str:
    """`din(query, keys, units=[80, 40], activation=dice, ...)`: inputs, then arguments with defaults."""
    op = load()[op_name]
    parts = [f"{i.name}..." if i.variadic else f"{i.name}?" if i.optional else i.name for i in op.inputs]
    for p in op.params:
        parts.append(f"{p.name}=…" if p.default is REQUIRED else f"{p.name}={default_text(p)}")
    return f"{op_name}(" + ", ".join(parts) + ")"
