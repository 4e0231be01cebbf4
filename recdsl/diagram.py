"""Graph -> graphviz diagram: one cluster per stage, each node with its name, op, key arguments
(an op's registry `structure_args` even at their default: din's attention units and activation),
output shape and parameter count, or whose table or weights it shares; sharing edges are dashed.

Readable at the width a report shows it (tests/test_diagram_readable.py checks every bundled spec
and 40- and 80-feature specs from graphviz's layout and PNG):
- Edges carry no text: a shape is printed once, on the node that makes it, and a node fed through
  several slots (`din(query=, keys=)`, `mlp(x, gate=poso(by=))`) shows them as ports on its top edge,
  each edge entering the port of the slot it fills.
- The features stage comes first, in rows of at most ROW_WIDTH points, and the later stages stack
  under it; BUS_MIN or more features of 3+ rows feeding one slot join one line (a bus) to it.
"""
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
SERVED_COLOUR = "#fff4f6"  # served-only outputs (attention weights): a paler note than a head
SHARING_COLOUR = "#c0392b"
EDGE_COLOUR = "#444444"
BARE_ROLES = ("x", "members", "fields")  # the op's one main input: no port of its own
FEATURES_END = "features end"  # an invisible point between the features and the other stages

# Estimated points (1/72 inch; the SVG's unit) of one row of features: ~1,000 px, a Markdown column.
ROW_WIDTH = 760
SMALL_FONT = 10  # points: arguments, shapes and slots; the smallest text drawn
_NODE_SEP = 0.25  # inches between neighbours in a rank
BUS_MIN = 4  # features from 3 or more rows into one slot that share one line to it

# Text from the spec is drawn, never trusted: graphviz refuses strings over 16,384 characters, control
# characters in its HTML labels and a backslash before a closing quote. The graph (graph.json) keeps
# the full text; the diagram shows it cut and made visible.
NAME_WIDTH = 60  # characters of a node name shown
VALUE_WIDTH = 40  # of a string or list argument
DOC_WIDTH = 300  # of the model's doc string
ID_WIDTH = 200  # of a name used as a DOT identifier; longer ones end in a hash of the whole name


class GraphvizMissing(RuntimeError):
    """The `dot` program is not installed; the .dot file was written instead."""


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
        inner = ", ".join(f"{k}={_short(v)}" for k, v in value.items() if k != "op" and _shown(op, k, v))
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
    """`name=value` of the op's key arguments that are set: every structure argument, the others
    when they differ from their default."""
    op = load().get(attrs["op"])
    names = op.key_args if op else ()
    return [f"{k}={_short(attrs['args'][k])}" for k in names if _shown(op, k, attrs["args"].get(k))]


def _shown(op, name: str, value) -> bool:
    if value is None:
        return False
    if op is None or name in op.structure_args:
        return True
    param = op.param(name)
    return param is None or param.required or param.default != value


def node_label(name: str, attrs: dict) -> str:
    """An HTML-like graphviz label: name, op, key arguments, shape and parameters (or whose table or
    weights the node shares)."""
    return "<" + "<br/>".join(_label_rows(name, attrs)) + ">"


def _label_rows(name: str, attrs: dict) -> list[str]:
    rows = [f'<b>{html.escape(visible(name, NAME_WIDTH))}</b>',
            html.escape(attrs["label"] if attrs["op"] != "group" else "group")]
    args = key_args(attrs)
    for start in range(0, len(args), 2):
        rows.append(f'<font point-size="{SMALL_FONT}">{html.escape(", ".join(args[start:start + 2]))}</font>')
    rows.append(f'<font point-size="{SMALL_FONT}" color="#555555">{html.escape(_shape_row(attrs))}</font>')
    return rows


def _shape_row(attrs: dict) -> str:
    params = f"{attrs['params']:,} params" if attrs["params"] else "no params"
    if attrs.get("share_kind") in ("table", "weights"):
        params = f"shares {attrs['share_kind']} of {visible(attrs['shares'], NAME_WIDTH)}"
    return f"{shape_label(attrs['shape'])} · {params}"


def input_slots(graph: nx.DiGraph, name: str) -> list[str]:
    """The input slots `name` is fed through that get a port: all of them, in the op's slot order,
    when there is more than one or one with a name of its own (query, keys, gate.by); else none."""
    roles = {r for _, _, a in graph.in_edges(name, data=True) if a["kind"] == "data" for r in a["role"].split(",")}
    if len(roles) < 2 and roles <= set(BARE_ROLES):
        return []
    op = load().get(graph.nodes[name]["op"])
    order = op.slots if op else ()
    return sorted(roles, key=lambda r: (order.index(r.split(".")[0]) if r.split(".")[0] in order else len(order), r))


def _ported_label(name: str, attrs: dict, slots: list[str]) -> str:
    cells = "".join(f'<td port="in{i}" border="1" color="#7a7a7a" bgcolor="#ffffff" cellpadding="1">'
                    f'<font point-size="{SMALL_FONT}">{html.escape(visible(slot, NAME_WIDTH))}</font></td>'
                    for i, slot in enumerate(slots))
    return (f'<<table border="0" cellborder="0" cellspacing="2" cellpadding="0"><tr>{cells}</tr>'
            f'<tr><td colspan="{len(slots)}">{"<br/>".join(_label_rows(name, attrs))}</td></tr></table>>')


def to_dot(graph: nx.DiGraph) -> graphviz.Digraph:
    total = graph.graph.get("params", 0)
    title = f'{_plain(graph.graph.get("name", "model"), NAME_WIDTH)} — {total:,} parameters'
    if graph.graph.get("doc"):
        doc = graph.graph["doc"]
        doc = doc if len(doc) <= DOC_WIDTH else doc[:DOC_WIDTH - 1] + "…"
        title += "\n" + "\n".join(_plain(line, DOC_WIDTH) for line in doc.split("\n"))
    dot = graphviz.Digraph(dot_id(graph.graph.get("name", "model")), graph_attr={
        "rankdir": "TB", "label": title, "labelloc": "t", "fontname": "Helvetica", "fontsize": "14",
        "newrank": "true", "nodesep": str(_NODE_SEP), "ranksep": "0.45",
    }, node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": EDGE_COLOUR})
    slots = {name: input_slots(graph, name) for name in graph.nodes}
    rows = feature_rows(graph)
    buses = _buses(graph, rows)
    in_rows = {name for row in rows for name in row}
    for family, stage, colour in CLUSTERS:
        members = [n for n, a in graph.nodes(data=True) if _family(a) == family]
        if not members:
            continue
        with dot.subgraph(name=f"cluster_{family}") as sub:
            sub.attr(label=stage, labeljust="l", style="rounded,filled", fillcolor=colour, color="#999999", fontsize="12")
            for name in members:
                if name not in in_rows:
                    _node(sub, name, graph.nodes[name], slots[name])
            if family == "feature":
                _draw_rows(sub, graph, rows, slots)
                for k, by_row in enumerate(buses.values()):
                    for r in range(min(by_row), max(by_row) + 1):
                        sub.node(f"bus {k}.{r}", "", shape="point", width="0.05", color=EDGE_COLOUR)
    _features_first(dot, graph, rows)
    _edges(dot, graph, slots, buses)
    return dot


def _draw_rows(sub, graph: nx.DiGraph, rows: list[list[str]], slots: dict) -> None:
    for k, row in enumerate(rows):
        with sub.subgraph(name=f"features_row_{k}") as line:
            line.attr(rank="same")
            for name in row:
                _node(line, name, graph.nodes[name], slots[name])
    for upper, lower in zip(rows, rows[1:]):
        sub.edge(dot_id(upper[0]), dot_id(lower[0]), style="invis")


def _features_first(dot, graph: nx.DiGraph, rows: list[list[str]]) -> None:
    """Rank every other stage below the whole features stage, through an invisible point: the later
    stages then stack under the features instead of beside them. Always satisfiable, as nothing
    flows into a feature or group but features."""
    stage = {n for n, a in graph.nodes(data=True) if _family(a) == "feature"}
    data = graph.edge_subgraph([(u, v) for u, v, kind in graph.edges(data="kind") if kind == "data"])
    ends = [n for n in graph.nodes if n in stage and not (n in data and any(v in stage for v in data.successors(n)))]
    if rows:  # the last row is below the others: only it and the groups can be lowest
        ends = [rows[-1][0]] + [n for n in ends if graph.nodes[n]["kind"] == "group"]
    starts = [n for n in graph.nodes
              if n not in stage and not (n in data and any(u not in stage for u in data.predecessors(n)))]
    if not ends or not starts:
        return
    dot.node(FEATURES_END, "", shape="point", style="invis", width="0", height="0")
    for name in ends:
        dot.edge(dot_id(name), FEATURES_END, style="invis")
    for name in starts:
        dot.edge(FEATURES_END, dot_id(name), style="invis")


def _node(sub, name: str, attrs: dict, slots: list[str]) -> None:
    label = _ported_label(name, attrs, slots) if slots else node_label(name, attrs)
    if served_only(attrs):  # no label, no loss: a note, paler, its border dotted
        sub.node(dot_id(name), label, shape="note", fillcolor=SERVED_COLOUR, style="filled,dotted")
        return
    sub.node(dot_id(name), label, fillcolor=NODE_COLOURS[attrs["kind"]],
             style="rounded,filled,dashed" if attrs["anonymous"] else "rounded,filled")


def served_only(attrs: dict) -> bool:
    """An output served without a label or loss (attention weights): drawn apart from prediction heads."""
    from recdsl.ops.outputs import SERVED_HEAD

    op = load().get(attrs.get("op"))
    return attrs["kind"] == "output" and op is not None and op.head == SERVED_HEAD


def _edges(dot, graph: nx.DiGraph, slots: dict[str, list[str]], buses: dict) -> None:
    """Data edges enter the port of their slot (one edge per slot when a value fills several), or
    join that slot's bus; sharing edges are dashed, red, end in a circle and do not shape the layout."""
    on_bus = {(s, target, role) for (target, role), by_row in buses.items() for row in by_row.values() for s in row}
    for source, target, attrs in graph.edges(data=True):
        if attrs["kind"] == "data":
            for role in attrs["role"].split(","):
                if (source, target, role) not in on_bus:
                    dot.edge(dot_id(source), _head(target, role, slots))
        sharing = attrs["kind"] if attrs["kind"] != "data" else attrs.get("share_kind")
        if sharing:  # its own edge, or merged into the data edge between the same two nodes
            dot.edge(dot_id(source), dot_id(target), style="dashed", color=SHARING_COLOUR, constraint="false",
                     arrowhead="odot", tooltip=f"{target} shares the {sharing} of {source}")
    for k, ((target, role), by_row) in enumerate(buses.items()):
        points = [f"bus {k}.{r}" for r in range(min(by_row), max(by_row) + 1)]
        for r, point in zip(range(min(by_row), max(by_row) + 1), points):
            for source in by_row.get(r, []):
                dot.edge(dot_id(source), point, arrowhead="none", tooltip=f"{source} -> {target} ({role})")
        for upper, lower in zip(points, points[1:]):
            dot.edge(upper, lower, arrowhead="none", weight="8")
        dot.edge(points[-1], _head(target, role, slots))


def _head(target: str, role: str, slots: dict[str, list[str]]) -> str:
    ports = slots[target]
    return f"{dot_id(target)}:in{ports.index(role)}:n" if ports else dot_id(target)


def feature_rows(graph: nx.DiGraph) -> list[list[str]]:
    """The features (not groups) in declaration order, cut into rows of at most ROW_WIDTH estimated
    points; [] when they fit in one row (graphviz then orders them freely)."""
    rows, width = [[]], 0.0
    for name in (n for n, kind in graph.nodes(data="kind") if kind == "feature"):
        wide = _estimated_width(name, graph.nodes[name]) + _NODE_SEP * 72
        if rows[-1] and width + wide > ROW_WIDTH:
            rows.append([])
            width = 0.0
        rows[-1].append(name)
        width += wide
    return rows if len(rows) > 1 else []


def _buses(graph: nx.DiGraph, rows: list[list[str]]) -> dict[tuple[str, str], dict[int, list[str]]]:
    """(target, slot) -> {row: the slot's sources in that row} for each slot that BUS_MIN or more
    features spanning 3 or more rows feed: they join one line (a point per row) that runs down to it,
    instead of each edge crossing every row below its own."""
    row_of = {name: k for k, row in enumerate(rows) for name in row}
    fed: dict[tuple[str, str], dict[int, list[str]]] = {}
    for source, target, attrs in graph.edges(data=True):
        if attrs["kind"] == "data" and source in row_of:
            for role in attrs["role"].split(","):
                fed.setdefault((target, role), {}).setdefault(row_of[source], []).append(source)
    return {key: by_row for key, by_row in fed.items()
            if max(by_row) - min(by_row) >= 2 and sum(map(len, by_row.values())) >= BUS_MIN}


def _estimated_width(name: str, attrs: dict) -> float:
    """Points a node's label takes, from Helvetica's average character widths (bold 11 pt: 6.6,
    11 pt: 6.1, 10 pt: 5.5) plus the box's margins."""
    args = key_args(attrs)
    small = [", ".join(args[i:i + 2]) for i in range(0, len(args), 2)] + [_shape_row(attrs)]
    return 16 + max(6.6 * len(visible(name, NAME_WIDTH)), 6.1 * len(attrs["label"]),
                    *(0.55 * SMALL_FONT * len(text) for text in small))


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
