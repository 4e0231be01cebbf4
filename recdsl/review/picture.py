"""A SpecDiff as a diagram: the new spec's diagram (recdsl.diagram's node labels and stages) with
the removed nodes drawn back as ghosts, every node and edge marked by what happened to it, and a
legend. Added: green. Removed: red, dashed. Changed: orange, its label listing old -> new of what
changed. Renamed: blue, `was OLD`. Affected (shape or params changed upstream): orange, dotted.
Each node and edge carries its change as an SVG class (`class="node added"`), for tools and tests.
"""
from __future__ import annotations

import html
import shutil
from pathlib import Path

import graphviz
import networkx as nx

from recdsl.checker.spec import CheckedSpec
from recdsl.diagram import CLUSTERS, FORMATS, NODE_COLOURS, GraphvizMissing, dot_id, node_label, visible
from recdsl.graph import build_graph, sharing_edges
from recdsl.ops.types import shape_label
from recdsl.review.diff import Edge, NodeChange, SpecDiff
from recdsl.review.text import show_inputs, show_value

#: change -> (border colour, fill colour or None for the stage's node colour, border style)
MARKING = {
    "added": ("#1a7f37", "#c6f6d5", "solid"),
    "removed": ("#cf222e", "#ffd8d6", "dashed"),
    "changed": ("#d97706", "#ffe4bf", "solid"),
    "renamed": ("#0969da", "#d6e8ff", "solid"),
    "affected": ("#d97706", None, "dotted"),
}
EDGE_MARKING = {"added": ("#1a7f37", "solid"), "removed": ("#cf222e", "dashed")}
_NOTE = '<font point-size="9" color="{colour}">{text}</font>'
_BARE_ROLES = ("x", "members", "fields")


def render_diff(diff: SpecDiff, old: CheckedSpec, new: CheckedSpec, out: str | Path) -> Path:
    """Write the diagram of `diff` (computed from old to new); the format follows the suffix.
    Raises GraphvizMissing (after writing the .dot file) when the `dot` program is absent."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {out.suffix!r}; use one of " + ", ".join("." + f for f in FORMATS))
    source = to_dot(diff, build_graph(old), build_graph(new)).source
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        out.write_text(source, encoding="utf-8")
        return out
    if shutil.which("dot") is None:
        fallback = out.with_suffix(".dot")
        fallback.write_text(source, encoding="utf-8")
        raise GraphvizMissing(str(fallback))
    out.write_bytes(graphviz.Source(source).pipe(format=fmt))
    return out


def to_dot(diff: SpecDiff, old_graph: nx.DiGraph, new_graph: nx.DiGraph) -> graphviz.Digraph:
    """The marked diagram; node ids are the new spec's names, a removed node's its old name."""
    names = visible(diff.new_model, 60)
    if diff.old_model != diff.new_model:
        names = f"{visible(diff.old_model, 60)} → {names}"
    title = f"{names} — parameters {diff.old_params:,} → {diff.new_params:,} ({diff.param_delta:+,})"
    dot = graphviz.Digraph("diff", graph_attr={
        "rankdir": "TB", "label": title.replace("\\", "\\\\"), "labelloc": "t", "fontname": "Helvetica",
        "fontsize": "14", "newrank": "true", "nodesep": "0.3", "ranksep": "0.45",
    }, node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#444444"})
    nodes = _nodes(diff, old_graph, new_graph)
    for family, stage, colour in CLUSTERS:
        members = [n for n in nodes if _family(n[1]) == family]
        if not members:
            continue
        with dot.subgraph(name=f"cluster_{family}") as sub:
            sub.attr(label=stage, style="rounded,filled", fillcolor=colour, color="#999999", fontsize="12")
            for name, attrs, change in members:
                _node(sub, name, attrs, change)
    _edges(dot, diff, old_graph, new_graph)
    _legend(dot)
    return dot


def _nodes(diff: SpecDiff, old_graph, new_graph) -> list[tuple[str, dict, NodeChange | None]]:
    changes = {c.name: c for c in diff.changes}
    out = [(name, attrs, changes.get(name)) for name, attrs in new_graph.nodes(data=True)]
    return out + [(c.name, old_graph.nodes[c.name], c) for c in diff.changes if c.change == "removed"]


def _family(attrs: dict) -> str:
    return "feature" if attrs["kind"] == "group" else attrs["kind"]


def _node(sub, name: str, attrs: dict, change: NodeChange | None) -> None:
    base = "rounded,filled" + (",dashed" if attrs["anonymous"] else "")
    if change is None:
        sub.node(dot_id(name), node_label(name, attrs), fillcolor=NODE_COLOURS[attrs["kind"]], style=base,
                 **{"class": "same"})
        return
    border, fill, style = MARKING[change.change]
    label = node_label(name, attrs)[1:-1]
    notes = _notes(change)
    if notes:
        label += "<br/>" + "<br/>".join(_NOTE.format(colour=border, text=html.escape(n)) for n in notes)
    sub.node(dot_id(name), f"<{label}>", fillcolor=fill or NODE_COLOURS[attrs["kind"]], color=border, penwidth="2.5",
             style=f"rounded,filled,{style}", tooltip=change.change, **{"class": change.change})


def _notes(change: NodeChange) -> list[str]:
    """The label's extra rows: what changed, old -> new."""
    if change.change in ("added", "removed"):
        return [change.change]
    notes = [f"was {visible(change.old_name, 60)}"] if change.old_name else []
    if change.old_kind:
        notes.append(f"{change.old_kind} → {change.kind}")
    if change.old_op:
        notes.append(f"op {change.old_op} → {change.op}")
    if change.rewired:
        notes.append(f"inputs {show_inputs(change.old_inputs)} → {show_inputs(change.inputs)}")
    notes += [f"{a.name}: {_short(a.old)} → {_short(a.new)}" for a in change.args]
    if change.old_shape != change.shape:
        notes.append(f"shape {shape_label(change.old_shape)} → {shape_label(change.shape)}")
    if change.old_params != change.params:
        notes.append(f"params {change.old_params:,} → {change.params:,} ({change.param_delta:+,})")
    return notes


def _short(value) -> str:
    return visible(show_value(value), 40)


def _edges(dot, diff: SpecDiff, old_graph, new_graph) -> None:
    added, removed = set(diff.edges_added), set(diff.edges_removed)
    data = [(u, v, a) for u, v, a in new_graph.edges(data=True) if a["kind"] == "data"]
    for u, v, attrs in data:
        role = "" if attrs["role"] in _BARE_ROLES else f'{attrs["role"]} '
        _edge(dot, Edge(u, v, "data"), added, f"{role}{shape_label(attrs['shape'])}")
    for u, v, kind in sharing_edges(new_graph):
        _edge(dot, Edge(u, v, kind), added, "shares table" if kind == "table" else "shares weights")
    for edge in diff.edges_removed:
        label = "" if edge.kind == "data" else f"shared {edge.kind}"
        _edge(dot, edge, removed, label, was=True)


def _edge(dot, edge: Edge, marked: set, label: str, was: bool = False) -> None:
    change = ("removed" if was else "added") if edge in marked else None
    extra = {"style": "dashed", "color": "#c0392b", "fontcolor": "#c0392b", "constraint": "false",
             "arrowhead": "odot"} if edge.kind != "data" else {}
    if change:
        colour, style = EDGE_MARKING[change]
        extra.update(color=colour, fontcolor=colour, style=style, penwidth="2")
    dot.edge(dot_id(edge.source), dot_id(edge.target), label=label, **extra, **{"class": change or "same"})


def _legend(dot) -> None:
    rows = "".join(f'<tr><td bgcolor="{fill or "#ffffff"}" color="{border}" border="2" style="{"rounded" if style == "solid" else style}">'
                   f"{change}</td></tr>" for change, (border, fill, style) in MARKING.items())
    with dot.subgraph(name="cluster_legend") as sub:
        sub.attr(label="legend", style="rounded", color="#999999", fontsize="12")
        sub.node("diff legend", f'<<table border="0" cellspacing="4" cellpadding="3">{rows}</table>>', shape="plaintext",
                 style="", **{"class": "legend"})
