"""The op reference of docs/language.md, generated from the registry so the two cannot drift.

    python -m recdsl.cli.reference            # print the generated section
    python -m recdsl.cli.reference --write    # refresh it in docs/language.md
"""
from __future__ import annotations

from pathlib import Path

from recdsl.ops import load
from recdsl.ops.params import REQUIRED
from recdsl.ops.registry import ACCEPTS

BEGIN = "<!-- BEGIN GENERATED OP REFERENCE (python -m recdsl.cli.reference --write) -->"
END = "<!-- END GENERATED OP REFERENCE -->"
FAMILIES = (
    ("feature", "Feature types (`feature NAME : TYPE`)"),
    ("pool", "Pooling (`pool NAME = OP(...)`)"),
    ("gate", "Gating (`gate NAME = OP(...)`)"),
    ("block", "Interaction blocks (`block NAME = OP(...)`)"),
    ("output", "Outputs (`output NAME = OP(...)`)"),
)


def _default(param) -> str:
    if param.default is REQUIRED:
        return "**required**"
    if param.default is None:
        return "—"
    if isinstance(param.default, bool):
        return f"`{str(param.default).lower()}`"
    if isinstance(param.default, str) and param.kind == "str":
        return f'`"{param.default}"`'
    return f"`{param.default}`"


def _kind(param) -> str:
    if param.kind == "enum":
        return " \\| ".join(f"`{c}`" for c in param.choices)
    if param.kind == "call":
        return " \\| ".join(f"`{c}(...)`" for c in param.calls)
    return param.kind.replace("_", " ")


def op_section(name: str) -> str:
    op = load()[name]
    lines = [f"### `{name}` — {op.label}", "", op.summary, ""]
    if op.inputs:
        lines += ["| input | accepts |", "| --- | --- |"]
        for slot in op.inputs:
            extra = " (any number, positional)" if slot.variadic else " (optional)" if slot.optional else ""
            lines.append(f"| `{slot.name}`{extra} | {ACCEPTS[slot.accepts]} |")
        lines.append("")
    if op.params:
        lines += ["| argument | kind | default | meaning |", "| --- | --- | --- | --- |"]
        for p in op.params:
            bound = []
            if p.low is not None:
                bound.append(f"≥ {p.low:g}")
            if p.high is not None:
                bound.append(f"≤ {p.high:g}")
            meaning = p.doc + (f" ({', '.join(bound)})" if bound else "")
            lines.append(f"| `{p.name}` | {_kind(p)} | {_default(p)} | {meaning} |")
        lines.append("")
    if op.example:
        lines += ["```", op.example, "```", ""]
    return "\n".join(lines)


def generated() -> str:
    registry = load()
    parts = [BEGIN, ""]
    for family, title in FAMILIES:
        parts += [f"## {title}", ""]
        parts += [op_section(name) for name in sorted(n for n, s in registry.items() if s.family == family)]
    parts.append(END)
    return "\n".join(parts)


def refresh(doc: Path) -> str:
    text = doc.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + generated() + tail
