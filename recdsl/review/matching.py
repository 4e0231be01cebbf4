"""Which node of the old spec is which node of the new one.

A node keeps its name, or is renamed: an old node whose name is gone is the new node whose name is
new when both have the same kind, op, arguments and inputs once every earlier rename is applied
(`Signature`). The old graph is walked in topological generations, so a rename cascades: a feature
renamed, then the pool reading it renamed too. Several old nodes with one signature pair with the
new nodes of that signature in source order. Everything unpaired is removed or added.
"""
from __future__ import annotations

from typing import Any

import networkx as nx

from recdsl.checker.spec import CheckedSpec, Node
from recdsl.ops import load

#: Argument kinds that hold node names.
_REF_KINDS = ("ref", "table")


def renamed_args(op_name: str, args: dict, rename) -> dict:
    """`args` of op `op_name` with every node name passed through `rename`; the input slots of a
    nested call (`gate=poso(by=[...])`) are dropped: the node's bindings carry them."""
    op = load().get(op_name)
    if op is None:
        return dict(args)
    inputs = {i.name for i in op.inputs}
    out = {}
    for key, value in args.items():
        if key in inputs or key == "op":
            continue
        param = op.param(key)
        out[key] = _renamed_value(value, rename, param.kind in _REF_KINDS if param else False)
    if "op" in args:
        out["op"] = args["op"]
    return out


def _renamed_value(value: Any, rename, is_ref: bool) -> Any:
    if isinstance(value, dict) and "op" in value:
        return renamed_args(value["op"], value, rename)
    if is_ref and isinstance(value, str):
        return rename(value)
    if is_ref and isinstance(value, list):
        return [rename(v) if isinstance(v, str) else v for v in value]
    return value


def bindings(node: Node, rename=lambda name: name) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The node's inputs as (role, members) in order, names passed through `rename`; consecutive
    bindings of one role merge, so `concat(a, b)` and `concat([a, b])` read the same."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for binding in node.inputs:
        members = tuple(rename(m) for m in binding.members)
        if out and out[-1][0] == binding.role:
            out[-1] = (binding.role, out[-1][1] + members)
        else:
            out.append((binding.role, members))
    return tuple(out)


def signature(node: Node, rename=lambda name: name) -> tuple:
    """What must agree for two nodes to be one node under another name (a hashable value). A feature's
    data column is not part of it: renaming a feature renames the column it reads unless column= is set,
    which the diff reports on the rename."""
    args = renamed_args(node.op, dict(node.args), rename)
    if node.kind == "feature":
        args.pop("column", None)
    return node.kind, node.op, _frozen(args), bindings(node, rename)


def _frozen(value: Any):
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(_frozen(v) for v in value))
    return value


def match_nodes(old: CheckedSpec, new: CheckedSpec, old_graph: nx.DiGraph) -> dict[str, str]:
    """Old node name -> new node name for every node present in both specs (kept or renamed)."""
    new_names = {n.name for n in new.nodes}
    mapping = {n.name: n.name for n in old.nodes if n.name in new_names}
    kept = set(mapping.values())
    offered: dict[tuple, list[str]] = {}  # a new node's signature needs no renames: it is in new names
    for node in new.nodes:
        if node.name not in kept:
            offered.setdefault(signature(node), []).append(node.name)
    if not offered:
        return mapping
    order = {n.name: i for i, n in enumerate(old.nodes)}
    rename = lambda name: mapping.get(name, name)  # noqa: E731 -- an old name, renamed so far
    for generation in _generations(old_graph):
        waiting = sorted((name for name in generation if name not in mapping), key=order.__getitem__)
        wanted: dict[tuple, list[str]] = {}
        for name in waiting:
            wanted.setdefault(signature(old.node(name), rename), []).append(name)
        for key, old_names in wanted.items():
            candidates = offered.get(key, [])
            for old_name, new_name in zip(old_names, candidates):
                mapping[old_name] = new_name
            del candidates[:len(old_names)]
    return mapping


def _generations(graph: nx.DiGraph) -> list[list[str]]:
    try:
        return [list(g) for g in nx.topological_generations(graph)]
    except nx.NetworkXUnfeasible:  # not a DAG: compare every node at once
        return [list(graph.nodes)]
