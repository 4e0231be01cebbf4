"""Graph -> graphviz diagram: one cluster per stage, each node with its name, op, key arguments,
output shape and parameter count; edges carry shapes; shared tables and weights are dashed."""
from __future__ import annotations

import hashlib
import html
import shutil
from pathlib import Path

import graphviz
import networkx as nx

from recdsl.ops import load
from recdsl.ops.types import shape_label

CLUSTERS = (
    ("feature", "features", "#eef5ff"),
    ("pool", "pooling", "#f1fbef"),
    ("gate", "gating", "#fff7e6"),
    ("block", "interaction", "#f6f0ff"),
    ("output", "outputs", "#ffeef0"),
)
FORMATS = ("svg", "png", "pdf", "dot")
NODE_COLOURS = {"feature": "#c9defc", "group": "#dde9fb", "pool": "#cdeec5", "gate": "#ffe2ad",
                "block": "#e0d3fb", "output": "#ffc9d0"}


class GraphvizMissing(RuntimeError):
    """The `dot` program is not installed; the .dot file was written instead."""


# Text from the spec is drawn, never trusted: graphviz refuses strings over 16,384 characters, control
# characters in its HTML labels and a backslash before a closing quote. The graph (graph.json) keeps
# the full text; the diagram shows it cut and made visible.
NAME_WIDTH = 60  # characters of a node name shown
VALUE_WIDTH = 40  # of a string or list argument
DOC_WIDTH = 300  # of the model's doc string
ID_WIDTH = 200  # of a name used as a DOT identifier; longer ones end in a hash of the whole name


def visible(text: str, width: int) -> str:
    """`text` cut to `width` characters (ending in …), every non-printable character (NUL, controls,
    bidi overrides, line separators) written as its escape, e.g. \\x00."""
    if len(text) > width:
        text = text[:width - 1] + "…"
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def dot_id(name: str) -> str:
    """The DOT identifier of a node (or graph) called `name`: the name itself unless it is very long."""
    if len(name) <= ID_WIDTH:
        return name
    return f"{name[:ID_WIDTH - 17]}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:16]}"


def _plain(text: str, width: int) -> str:
    """Text for a plain (quoted) graphviz label: visible, backslashes doubled so none escapes a quote."""
    return visible(text, width).replace("\\", "\\\\")


def _short(value) -> str:
    if isinstance(value, dict):
        op = load().get(value["op"])
        inner = ", ".join(f"{k}={_short(v)}" for k, v in value.items()
                          if k != "op" and v is not None and not (op and _is_default(op, k, v)))
        return f"{value['op']}({inner})"
    if isinstance(value, list):
        text = "[" + ", ".join(_short(v) for v in value[:VALUE_WIDTH]) + "]"
        return text if len(text) <= VALUE_WIDTH else text[:VALUE_WIDTH - 3] + "…]"
    if isinstance(value, str):
        return visible(value, VALUE_WIDTH)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and value >= 10_000:
        return f"{value:_}"
    return str(value)


def key_args(attrs: dict) -> list[str]:
    op = load().get(attrs["op"])
    names = op.key_args if op else ()
    return [f"{k}={_short(attrs['args'][k])}" for k in names
            if attrs["args"].get(k) is not None and not _is_default(op, k, attrs["args"][k])]


def _is_default(op, name: str, value) -> bool:
    param = op.param(name)
    return param is not None and not param.required and param.default == value


def node_label(name: str, attrs: dict) -> str:
    """An HTML-like graphviz label: name, op, key arguments, shape and parameters."""
    rows = [f'<b>{html.escape(visible(name, NAME_WIDTH))}</b>',
            html.escape(attrs["label"] if attrs["op"] != "group" else "group")]
    args = key_args(attrs)
    for start in range(0, len(args), 2):
        rows.append(f'<font point-size="9">{html.escape(", ".join(args[start:start + 2]))}</font>')
    params = f"{attrs['params']:,} params" if attrs["params"] else "no params"
    if attrs.get("share_kind") == "weights":
        params = f"shares {visible(attrs['shares'], NAME_WIDTH)}"
    rows.append(f'<font point-size="9" color="#555555">{html.escape(shape_label(attrs["shape"]))} · {params}</font>')
    return "<" + "<br/>".join(rows) + ">"


def to_dot(graph: nx.DiGraph) -> graphviz.Digraph:
    total = graph.graph.get("params", 0)
    title = f'{_plain(graph.graph.get("name", "model"), NAME_WIDTH)} — {total:,} parameters'
    if graph.graph.get("doc"):
        doc = graph.graph["doc"]
        doc = doc if len(doc) <= DOC_WIDTH else doc[:DOC_WIDTH - 1] + "…"
        title += "\n" + "\n".join(_plain(line, DOC_WIDTH) for line in doc.split("\n"))
    dot = graphviz.Digraph(dot_id(graph.graph.get("name", "model")), graph_attr={
        "rankdir": "TB", "label": title, "labelloc": "t", "fontname": "Helvetica", "fontsize": "14",
        "newrank": "true", "nodesep": "0.3", "ranksep": "0.45",
    }, node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#444444"})
    for family, title, colour in CLUSTERS:
        members = [n for n, a in graph.nodes(data=True) if _family(a) == family]
        if not members:
            continue
        with dot.subgraph(name=f"cluster_{family}") as sub:
            sub.attr(label=title, style="rounded,filled", fillcolor=colour, color="#999999", fontsize="12")
            for name in members:
                attrs = graph.nodes[name]
                sub.node(dot_id(name), node_label(name, attrs), fillcolor=NODE_COLOURS[attrs["kind"]],
                         style="rounded,filled,dashed" if attrs["anonymous"] else "rounded,filled")
    for source, target, attrs in graph.edges(data=True):
        if attrs["kind"] == "data":
            role = "" if attrs["role"] in ("x", "members", "fields") else f'{attrs["role"]} '
            dot.edge(dot_id(source), dot_id(target), label=f"{role}{shape_label(attrs['shape'])}")
        sharing = attrs["kind"] if attrs["kind"] != "data" else attrs.get("share_kind")
        if sharing:  # its own edge, or merged into the data edge between the same two nodes
            what = "shares table" if sharing == "table" else "shares weights"
            dot.edge(dot_id(source), dot_id(target), label=what, style="dashed", color="#c0392b", fontcolor="#c0392b",
                     constraint="false", arrowhead="odot")
    return dot


def _family(attrs: dict) -> str:
    return "feature" if attrs["kind"] == "group" else attrs["kind"]


def render(graph: nx.DiGraph, out: str | Path) -> Path:
    """Write the diagram; the format follows the suffix (.svg .png .pdf .dot).

    Raises GraphvizMissing (after writing the .dot file) when the `dot` program is absent."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {out.suffix!r}; use one of " + ", ".join("." + f for f in FORMATS))
    source = to_dot(graph).source
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        out.write_text(source)
        return out
    if shutil.which("dot") is None:
        fallback = out.with_suffix(".dot")
        fallback.write_text(source)
        raise GraphvizMissing(str(fallback))
    data = graphviz.Source(source).pipe(format=fmt)
    out.write_bytes(data)
    return out
