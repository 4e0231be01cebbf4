"""Two checked specs -> their semantic difference, a plain `SpecDiff` value.

Nodes are paired by name, then by structure (recdsl.review.matching: renames, cascades too).
A paired node is `changed` when its kind, op, arguments (defaults filled in, node names read
through the renames) or inputs differ; `renamed` when only its name does (a renamed feature
without column= then reads another data column: its args show `column OLD -> NEW`); `affected`
when only its shape or parameter count does (something upstream changed). Spans, comments, whitespace,
argument order and statement order never count. Edges are named in the new spec's names, a
removed node by its old name (`picture names`: no removed name is also a new one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from recdsl.checker.spec import CheckedSpec, Node
from recdsl.graph import build_graph, sharing_edges
from recdsl.ops import load
from recdsl.review.matching import bindings, match_nodes, renamed_args

CHANGES = ("added", "removed", "renamed", "changed", "affected")

Inputs = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ArgChange:
    """One argument, old -> new; None on the side where it is unset (or the op has no such argument)."""

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class NodeChange:
    """One node's change. `name` is its new name (its old one when removed); the old_* fields hold
    the old side of a paired node, the unprefixed ones the new side (None where a side is absent)."""

    change: str  # one of CHANGES
    name: str
    kind: str
    op: str
    old_name: str | None = None
    old_kind: str | None = None
    old_op: str | None = None
    args: tuple[ArgChange, ...] = ()
    old_inputs: Inputs | None = None
    inputs: Inputs | None = None
    old_shape: tuple | None = None
    shape: tuple | None = None
    old_params: int | None = None
    params: int | None = None
    anonymous: bool = False

    @property
    def param_delta(self) -> int:
        return (self.params or 0) - (self.old_params or 0)

    @property
    def rewired(self) -> bool:
        return self.old_inputs is not None and self.inputs is not None and self.old_inputs != self.inputs


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # data | table | weights


@dataclass(frozen=True)
class SpecDiff:
    old_model: str
    new_model: str
    old_doc: str
    new_doc: str
    old_params: int
    new_params: int
    changes: tuple[NodeChange, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()  # every (old, new) pair, nodes made inline included
    edges_added: tuple[Edge, ...] = ()
    edges_removed: tuple[Edge, ...] = ()

    @property
    def same(self) -> bool:
        return (not self.changes and not self.edges_added and not self.edges_removed
                and self.old_model == self.new_model and self.old_doc == self.new_doc)

    @property
    def param_delta(self) -> int:
        return self.new_params - self.old_params

    def count(self, change: str) -> int:
        return sum(c.change == change for c in self.changes)

    def by_name(self, name: str) -> NodeChange:
        return next(c for c in self.changes if c.name == name)


def diff_specs(old: CheckedSpec, new: CheckedSpec) -> SpecDiff:
    """The semantic difference from `old` to `new` (both checked)."""
    old_graph, new_graph = build_graph(old), build_graph(new)
    mapping = match_nodes(old, new, old_graph)
    picture = lambda name: mapping.get(name, name)  # noqa: E731 -- an old name as the diff names it
    was = {n: o for o, n in mapping.items()}
    changes = [((i, 0), c) for i, n in enumerate(new.nodes)
               if (c := _paired_or_added(n, was.get(n.name), mapping, old, new_graph, old_graph, picture))
               is not None]
    changes += _removed(old, new, mapping, old_graph)
    old_edges = {Edge(picture(u), picture(v), k) for u, v, k in _edges(old_graph)}
    new_edges = {Edge(u, v, k) for u, v, k in _edges(new_graph)}
    by_edge = lambda e: (e.source, e.target, e.kind)  # noqa: E731
    return SpecDiff(
        old.name, new.name, old.doc, new.doc, old.total_params, new.total_params,
        tuple(c for _, c in sorted(changes, key=lambda kc: kc[0])),
        tuple((o, n) for o, n in mapping.items() if o != n),
        tuple(sorted(new_edges - old_edges, key=by_edge)), tuple(sorted(old_edges - new_edges, key=by_edge)))


def _edges(graph: nx.DiGraph) -> set[tuple[str, str, str]]:
    data = {(u, v, "data") for u, v, k in graph.edges(data="kind") if k == "data"}
    return data | set(sharing_edges(graph))


def _paired_or_added(node: Node, old_name: str | None, mapping, old: CheckedSpec, new_graph, old_graph,
                     picture) -> NodeChange | None:
    attrs = new_graph.nodes[node.name]
    shape, params = tuple(attrs["shape"]), attrs["params"]
    if old_name is None:
        return NodeChange("added", node.name, node.kind, node.op, args=_set_args(node),
                          inputs=bindings(node), shape=shape, params=params, anonymous=node.anonymous)
    before = old.node(old_name)
    old_attrs = old_graph.nodes[old_name]
    old_shape, old_params = tuple(old_attrs["shape"]), old_attrs["params"]
    args = _arg_changes(before, node, picture)
    old_inputs, inputs = bindings(before, picture), bindings(node)
    renamed = old_name != node.name
    own_args = [a for a in args if not (renamed and a.name == "column" and node.kind == "feature")]
    own = own_args or old_inputs != inputs or before.op != node.op or before.kind != node.kind
    if own:
        change = "changed"
    elif renamed and not _follows_owner(old_name, node.name, mapping):
        change = "renamed"
    elif old_shape != shape or old_params != params:
        change = "affected"
    else:
        return None
    rewired = old_inputs != inputs
    return NodeChange(
        change, node.name, node.kind, node.op, old_name=old_name if old_name != node.name else None,
        old_kind=before.kind if before.kind != node.kind else None,
        old_op=before.op if before.op != node.op else None, args=args,
        old_inputs=old_inputs if rewired else None, inputs=inputs if rewired else None,
        old_shape=old_shape, shape=shape, old_params=old_params, params=params, anonymous=node.anonymous)


def _follows_owner(old_name: str, new_name: str, mapping: dict) -> bool:
    """An inline node (`ctr.concat`) renamed only because its owner statement was."""
    if "." not in old_name:
        return False
    owner = old_name.split(".", 1)[0]
    return mapping.get(owner, owner) + old_name[len(owner):] == new_name


def _removed(old: CheckedSpec, new: CheckedSpec, mapping, old_graph) -> list[tuple[tuple, NodeChange]]:
    """Removed nodes, each placed after the last kept node that preceded it in the old spec."""
    positions = {n.name: i for i, n in enumerate(new.nodes)}
    out, anchor = [], -1
    for i, node in enumerate(old.nodes):
        if node.name in mapping:
            anchor = positions[mapping[node.name]]
            continue
        attrs = old_graph.nodes[node.name]
        out.append(((anchor, 1 + i), NodeChange(
            "removed", node.name, node.kind, node.op, args=_set_args(node, removed=True), old_inputs=bindings(node),
            old_shape=tuple(attrs["shape"]), old_params=attrs["params"], anonymous=node.anonymous)))
    return out


def _set_args(node: Node, removed: bool = False) -> tuple[ArgChange, ...]:
    """The arguments an added (or removed) node sets away from its op's defaults, on its side."""
    args = renamed_args(node.op, dict(node.args), lambda n: n)
    return tuple(ArgChange(k, v, None) if removed else ArgChange(k, None, v)
                 for k, v in args.items() if not is_default(node.op, k, v))


def _arg_changes(before: Node, after: Node, picture) -> tuple[ArgChange, ...]:
    """Arguments that differ; a feature's `column` compares as the column it reads (its name when unset)."""
    old_args = _read_column(before, renamed_args(before.op, dict(before.args), picture))
    new_args = _read_column(after, renamed_args(after.op, dict(after.args), lambda n: n))
    out = []
    for key in list(new_args) + [k for k in old_args if k not in new_args]:
        old_value, new_value = old_args.get(key), new_args.get(key)
        if old_value == new_value:
            continue
        if key not in old_args and is_default(after.op, key, new_value):
            continue
        if key not in new_args and is_default(before.op, key, old_value):
            continue
        out.append(ArgChange(key, old_value, new_value))
    return tuple(out)


def _read_column(node: Node, args: dict) -> dict:
    if node.kind == "feature" and "column" in args and args["column"] is None:
        args["column"] = node.name
    return args


def is_default(op_name: str, key: str, value: Any) -> bool:
    """Whether `value` is what op `op_name` gives argument `key` when it is not written."""
    op = load().get(op_name)
    param = op.param(key) if op else None
    return value is None or (param is not None and not param.required and param.default == value)
