"""Features read only as model inputs: their embedding table is never built.

A feature that only "features" slots read (the wide part's ids and values, recdsl.ops.feature_inputs)
is not embedded, so the table it owns has no parameters in the model: its checked count becomes 0,
unless another feature sharing that table (`of=`) is embedded. The checker's count stays the
built model's (the emitter makes such a feature's model input only).
"""
from __future__ import annotations

from dataclasses import replace


def _slot_form(registry: dict, node, role: str) -> str | None:
    """The `accepts` form of the slot a binding fills (`gate.by`: the nested call's slot)."""
    op = registry.get(node.op)
    if "." in role:
        param, role = role.split(".", 1)
        nested = node.arg(param)
        op = registry.get(nested["op"]) if isinstance(nested, dict) else None
    slot = next((s for s in op.inputs if s.name == role), None) if op is not None else None
    return slot.accepts if slot is not None else None


def _leaves(nodes: dict, names, found: set | None = None, expanded: set | None = None) -> set[str]:
    """The names `names` reads, groups expanded (each group once, however often it is nested)."""
    found = set() if found is None else found
    expanded = set() if expanded is None else expanded
    for name in names:
        node = nodes.get(name)
        if node is None or node.kind != "group":
            found.add(name)
        elif name not in expanded:
            expanded.add(name)
            _leaves(nodes, node.inputs[0].members, found, expanded)
    return found


def without_unused_tables(nodes: dict, registry: dict) -> dict:
    """`nodes` (name -> Node) with the table of every feature read only as a model input counted 0."""
    embedded, as_inputs = set(), set()
    for node in nodes.values():
        if node.kind in ("group", "feature"):
            continue
        for binding in node.inputs:
            reads = as_inputs if _slot_form(registry, node, binding.role) == "features" else embedded
            reads.update(_leaves(nodes, binding.members))
    tables_used = {nodes[n].shares if nodes[n].share_kind == "table" else n for n in embedded if n in nodes}
    out = dict(nodes)
    for name in as_inputs - embedded:
        node = nodes.get(name)
        if node is not None and node.kind == "feature" and node.share_kind is None and name not in tables_used:
            out[name] = replace(node, params=0)
    return out
