"""CheckedSpec -> networkx.DiGraph, the dependency graph every back end reads.

Node attributes:
    kind      feature | group | pool | gate | block | output
    op        the op name ("group" for groups)
    label     the op's diagram label ("DIN attention")
    args      every argument with defaults filled in (JSON values)
    type      value type name: field | dense | vector | bag | seq | stack | fieldlist
    shape     output shape, batch axis "B": ["B", 50, 16]
    params    trainable parameters owned by this node
    span      {file, line, column, end_line, end_column} of the statement or nested call
    anonymous true for a call nested inside another statement (named owner.op)
    shares    the node whose embedding table / weights this one reuses, or None
    share_kind "table" | "weights" | None
Edge attributes:
    kind      "data" for values flowing in, "table" / "weights" for sharing
    role      the input slot the value feeds ("query", "keys", "gate.by", ...; "shares" on a sharing edge)
    shape     the shape travelling on the edge
    share_kind only on a data edge whose target also shares the source's weights (`y = mlp(x, share=x)`):
              "weights". A DiGraph holds one edge per pair, so that edge carries both relations;
              sharing_edges() lists every sharing relation, merged or not.
"""
from __future__ import annotations

import json

import networkx as nx

from recdsl.checker.spec import CheckedSpec
from recdsl.ops import load
from recdsl.ops.types import shape_label, to_json


def build_graph(spec: CheckedSpec) -> nx.DiGraph:
    registry = load()
    graph = nx.DiGraph(name=spec.name, doc=spec.doc, params=spec.total_params)
    for node in spec.nodes:
        op = registry.get(node.op)
        typ = to_json(node.type)
        graph.add_node(
            node.name, kind=node.kind, op=node.op, label=op.label if op else "group",
            args=dict(node.args), type=typ["type"], shape=typ["shape"], params=node.params,
            span=node.span.to_dict(), anonymous=node.anonymous, shares=node.shares, share_kind=node.share_kind,
        )
    for node in spec.nodes:
        for binding in node.inputs:
            for member in binding.members:
                if graph.has_edge(member, node.name):
                    graph.edges[member, node.name]["role"] += "," + binding.role
                    continue
                graph.add_edge(member, node.name, kind="data", role=binding.role,
                               shape=graph.nodes[member]["shape"])
        if node.shares:
            if graph.has_edge(node.shares, node.name):  # the shared node also feeds this one
                graph.edges[node.shares, node.name]["share_kind"] = node.share_kind
            else:
                graph.add_edge(node.shares, node.name, kind=node.share_kind, role="shares",
                               shape=graph.nodes[node.shares]["shape"])
    return graph


def sharing_edges(graph: nx.DiGraph) -> list[tuple[str, str, str]]:
    """Every (source, target, "table" | "weights") sharing relation, including one merged into a data edge."""
    out = []
    for u, v, attrs in graph.edges(data=True):
        if attrs["kind"] != "data":
            out.append((u, v, attrs["kind"]))
        elif attrs.get("share_kind"):
            out.append((u, v, attrs["share_kind"]))
    return out


def data_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """The graph without sharing edges: what is computed from what."""
    data = graph.edge_subgraph([(u, v) for u, v, k in graph.edges(data="kind") if k == "data"]).copy()
    for _, _, attrs in data.edges(data=True):
        attrs.pop("share_kind", None)
    return data


def to_text(graph: nx.DiGraph) -> str:
    """One line per node: `name: op [shape] N params <- sources` (`recdsl graph`)."""
    lines = []
    for name, attrs in graph.nodes(data=True):
        sources = ", ".join(f"{u} ({d['kind']})" if d["kind"] != "data"
                            else u + (f", {u} ({d['share_kind']})" if d.get("share_kind") else "")
                            for u, _, d in graph.in_edges(name, data=True))
        lines.append(f"{name}: {attrs['op']} {shape_label(attrs['shape'])} {attrs['params']:,} params"
                     + (f" <- {sources}" if sources else ""))
    return "".join(line + "\n" for line in lines)


def to_json_text(graph: nx.DiGraph) -> str:
    """Node-link JSON, byte-for-byte deterministic for the same spec."""
    data = nx.node_link_data(graph, edges="edges")
    data["edges"] = sorted(data["edges"], key=lambda e: (e["source"], e["target"]))
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
