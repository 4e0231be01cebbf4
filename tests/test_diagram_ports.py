"""What the diagram says, read back from graphviz's layout: each edge ends on the port of the slot
it fills (the arrow tip lies on the cell naming that slot), the features that share a bus reach
exactly the slot the graph says they feed, a node names whose table or weights it shares, and an
op's structure arguments (din's attention MLP) are shown even at their default."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import recdsl
from recdsl.diagram import BUS_MIN, feature_rows, input_slots, node_label, to_dot
from recdsl.graph import build_graph
from recdsl.ops import load
from tests.test_diagram_readable import wide_spec

ROOT = Path(__file__).resolve().parent.parent
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def graph_of(path):
    return build_graph(recdsl.typecheck(path))


def layout(graph) -> dict:
    done = subprocess.run(["dot", "-Tjson"], input=to_dot(graph).source.encode(), capture_output=True, timeout=120)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()[:500]
    return json.loads(done.stdout)


def slot_cells(node: dict) -> dict[str, tuple[float, float]]:
    """slot name -> (x0, x1) of the port cell that shows it: the cell outline drawn just before its text."""
    cells, outline = {}, None
    for op in node["_ldraw_"]:
        if op["op"] == "p":
            outline = [x for x, _ in op["points"]]
        elif op["op"] == "T" and outline is not None:
            cells[op["text"]] = (min(outline), max(outline))
            outline = None
    return cells


def arrow_tip(edge: dict) -> tuple[float, float]:
    """The arrowhead's point farthest from where the spline ends: its tip."""
    end = edge["_draw_"][-1]["points"][-1]
    head = edge["_hdraw_"][-1]["points"]
    return max(head, key=lambda p: (p[0] - end[0]) ** 2 + (p[1] - end[1]) ** 2)


@needs_dot
@pytest.mark.parametrize("spec, node, fed", [
    ("specs/din.rec", "interest", {"query": {"item_id", "item_cate"}, "keys": {"hist_items", "hist_cates"}}),
    ("specs/din.rec", "deep", {"x": {"fields", "interest", "age"}, "gate.by": {"user_id", "age"}}),
    ("specs/multihead.rec", "target", {"query": {"item_id"}, "keys": {"history"}, "values": {"hist_items"}}),
])
def test_each_edge_ends_on_the_cell_of_its_slot(spec, node, fed):
    graph = graph_of(ROOT / spec)
    assert input_slots(graph, node) == list(fed)
    drawing = layout(graph)
    names = {obj["_gvid"]: obj["name"] for obj in drawing["objects"]}
    cells = slot_cells(next(obj for obj in drawing["objects"] if obj["name"] == node))
    assert set(cells) >= set(fed)
    reached = {slot: set() for slot in fed}
    for edge in drawing["edges"]:
        if names[edge["head"]] != node or edge.get("style") in ("dashed", "invis"):
            continue
        x, _ = arrow_tip(edge)
        slot = next(s for s, (x0, x1) in cells.items() if x0 - 1 <= x <= x1 + 1)
        assert edge["headport"].startswith(f"in{list(fed).index(slot)}")
        reached[slot].add(names[edge["tail"]])
    assert reached == fed


def test_a_node_with_one_plain_input_has_no_ports():
    graph = graph_of(ROOT / "specs" / "din.rec")
    assert input_slots(graph, "user") == input_slots(graph, "cross") == input_slots(graph, "genres_vec") == []
    assert "port=" not in to_dot(graph).source.split("\tcross [", 1)[1].split("\n", 1)[0]


@needs_dot
@pytest.mark.parametrize("groups", [True, False], ids=["groups", "direct"])
def test_features_on_a_bus_reach_exactly_the_slot_they_feed(tmp_path, groups):
    path = tmp_path / "wide.rec"
    path.write_text(wide_spec(40, groups))
    graph = graph_of(path)
    assert len(feature_rows(graph)) >= 5
    drawing = layout(graph)
    names = {obj["_gvid"]: obj["name"] for obj in drawing["objects"]}
    onward: dict[str, list[tuple[str, str]]] = {}
    for edge in drawing["edges"]:
        if edge.get("style") not in ("invis", "dashed"):
            onward.setdefault(names[edge["tail"]], []).append((names[edge["head"]], edge.get("headport", "")))

    def reach(name):  # follow bus points to the nodes and ports the value ends in
        ends = set()
        for head, port in onward.get(name, []):
            ends |= reach(head) if head.startswith("bus ") else {(head, port)}
        return ends

    buses = 0
    for name in graph.nodes:
        expected = set()
        for _, target, attrs in graph.out_edges(name, data=True):
            for role in attrs["role"].split(",") if attrs["kind"] == "data" else ():
                slots = input_slots(graph, target)
                expected.add((target, f"in{slots.index(role)}:n" if slots else ""))
        assert reach(name) == expected, name
        buses += any(head.startswith("bus ") for head, _ in onward.get(name, []))
    assert buses >= 2 * BUS_MIN  # the fan-ins did go through buses


def test_structure_arguments_are_shown_at_their_default():
    graph = graph_of(ROOT / "specs" / "din.rec")
    assert graph.nodes["interest"]["args"]["units"] == load()["din"].param("units").default  # the default...
    interest = node_label("interest", graph.nodes["interest"])
    assert "units=[80, 40], activation=dice" in interest  # ...is drawn
    assert "normalize=" not in interest and "output=" not in interest  # other defaults are not
    deep = node_label("deep", graph.nodes["deep"])
    assert "activation=relu" in deep and "gate=poso(by=[user_id, age], units=32)" in deep
    assert "norm=" not in deep
    target = node_label("target", graph_of(ROOT / "specs" / "attention.rec").nodes["target"])
    assert "score=scaled_dot" in target and "transform=" not in target


def test_structure_arguments_are_declared_key_arguments():
    for name, op in load().items():
        assert set(op.structure_args) <= set(op.key_args), name
        assert all(op.param(arg) is not None for arg in op.structure_args), name
    shown = {name: op.structure_args for name, op in load().items()}
    assert shown["din"] == shown["traditional_attention"] == shown["mlp"] == ("units", "activation")
    assert (shown["attention"], shown["senet"], shown["poso"]) == (("score",), ("reduction",), ("units",))
    assert shown["transformer"] == ("heads", "layers") and shown["self_attention"] == ("style", "heads", "layers")


def test_a_sharing_node_names_whose_table_or_weights_it_uses():
    din = graph_of(ROOT / "specs" / "din.rec")
    assert "[B, 50, 16] · shares table of item_id" in node_label("hist_items", din.nodes["hist_items"])
    attention = graph_of(ROOT / "specs" / "attention.rec")
    assert "[B, 16] · shares weights of target" in node_label("merged", attention.nodes["merged"])
