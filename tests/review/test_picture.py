"""recdsl.review.picture: the diagram marks the right nodes and edges. The SVG is parsed and each
node is found by its title (the node's name) with its class and colours."""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

import recdsl
from recdsl.review.diff import diff_specs
from recdsl.review.picture import MARKING, render_diff
from tests.review.test_diff import ADDED_BLOCK
from tests.review.test_text import REMOVED, RENAMES
from tests.review.tiny import BASE, checked, edit

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")


def _svg(tmp_path, new_text, old_text=BASE) -> dict[str, dict]:
    """Each node and edge of the drawn SVG by its title: {"class": ..., "stroke": ..., "fill": ..., "text": ...}."""
    old, new = checked(tmp_path, "old.rec", old_text), checked(tmp_path, "new.rec", new_text)
    out = render_diff(diff_specs(old, new), old, new, tmp_path / "diff.svg")
    found = {}
    for group in ET.parse(out).getroot().iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if "node" not in classes and "edge" not in classes:
            continue
        shape = next(e for e in group.iter() if e.tag in (f"{SVG}path", f"{SVG}polygon"))
        found[group.find(f"{SVG}title").text] = {
            "class": " ".join(c for c in classes if c not in ("node", "edge")),
            "stroke": shape.get("stroke"), "fill": shape.get("fill"), "dash": shape.get("stroke-dasharray"),
            "text": " ".join(t.text or "" for t in group.iter(f"{SVG}text"))}
    return found


@needs_dot
def test_added_changed_and_affected_nodes_are_marked(tmp_path):
    svg = _svg(tmp_path, ADDED_BLOCK)
    assert svg["wide"]["class"] == "added"
    assert (svg["wide"]["stroke"], svg["wide"]["fill"]) == MARKING["added"][:2]
    assert svg["ctr.concat"]["class"] == "changed" and svg["ctr.concat"]["stroke"] == MARKING["changed"][0]
    assert "inputs [deep, history] → [deep, history, wide]" in svg["ctr.concat"]["text"]
    assert svg["ctr"]["class"] == "affected" and "params 17 → 21 (+4)" in svg["ctr"]["text"]
    assert {n for n, a in svg.items() if "->" not in n and a["class"] == "same"} == {
        "user_id", "item_id", "cate", "age", "hist", "ids", "history", "deep"}
    assert svg["age->wide"]["class"] == "added" and svg["age->wide"]["stroke"] == "#1a7f37"
    assert svg["wide->ctr.concat"]["class"] == "added" and svg["deep->ctr.concat"]["class"] == "same"


@needs_dot
def test_removed_nodes_are_drawn_as_red_dashed_ghosts_with_their_edges(tmp_path):
    svg = _svg(tmp_path, REMOVED)
    for name in ("hist", "history"):
        assert svg[name]["class"] == "removed" and svg[name]["stroke"] == MARKING["removed"][0]
        assert svg[name]["dash"] is not None  # dashed
    assert svg["history->deep"]["class"] == "removed" and svg["history->deep"]["dash"] is not None
    assert svg["item_id->hist"]["class"] == "removed"
    assert svg["cate->ctr.concat"]["class"] == "added"
    assert svg["deep"]["class"] == "changed" and "params 680 → 552 (-128)" in svg["deep"]["text"]


@needs_dot
def test_changed_arguments_show_old_and_new_in_the_label(tmp_path):
    svg = _svg(tmp_path, edit(BASE, ("units=[16, 8]", "units=[16, 4]")))
    assert svg["deep"]["class"] == "changed" and "units: [16, 8] → [16, 4]" in svg["deep"]["text"]
    assert svg["ctr.concat"]["class"] == "affected" and "shape [B, 16] → [B, 12]" in svg["ctr.concat"]["text"]


@needs_dot
def test_renamed_nodes_say_what_they_were(tmp_path):
    svg = _svg(tmp_path, RENAMES)
    assert svg["tower"]["class"] == "renamed" and "was deep" in svg["tower"]["text"]
    assert svg["click"]["class"] == "renamed" and "was ctr" in svg["click"]["text"]
    assert "deep" not in svg and "ctr" not in svg  # no ghosts for renamed nodes
    assert svg["click.concat"]["class"] == "same" and svg["tower->click.concat"]["class"] == "same"


def test_the_dot_source_has_the_legend_and_every_kind_of_mark(tmp_path):
    old, new = checked(tmp_path, "old.rec", BASE), checked(tmp_path, "new.rec", REMOVED)
    out = render_diff(diff_specs(old, new), old, new, tmp_path / "diff.dot")
    source = out.read_text(encoding="utf-8")
    assert "cluster_legend" in source and all(f">{change}</td>" in source for change in MARKING)
    assert 'history [label=' in source and 'class=removed' in source
    assert "tiny — parameters 12,825 → 12,697 (-128)" in source


@needs_dot
def test_the_bundled_din_pair_draws(tmp_path):
    old, new = recdsl.check("specs/din_avg.rec"), recdsl.check("specs/din.rec")
    out = render_diff(diff_specs(old, new), old, new, tmp_path / "din.svg")
    root = ET.parse(out).getroot()
    marked = {g.find(f"{SVG}title").text: g.get("class") for g in root.iter(f"{SVG}g") if g.get("class", "") != "graph"
              and g.find(f"{SVG}title") is not None}
    assert marked["interest"] == "node changed"
    assert marked["item_id->interest"] == "edge added" and marked["item_cate->interest"] == "edge added"
