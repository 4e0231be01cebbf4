"""The diagram a reviewer reads in a run's report: every bundled spec and generated wide specs (40
and 80 features) are laid out by graphviz (-Tjson gives every text's position and width) and drawn
to PNG. No two texts overlap, no edge runs through a node's text, edges carry no text of their
own (a node shows its shape; a slot's name is a port on the node it feeds), and the drawing fits
the Markdown column the report is read in, at a size where the smallest text stays legible."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import recdsl
from recdsl.diagram import SMALL_FONT, render, to_dot
from recdsl.graph import build_graph

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "specs").glob("*.rec")) + sorted((ROOT / "examples").glob("*/*.rec"))

#: A Markdown report (GitHub, VS Code's preview) shows an image at most this many CSS pixels wide.
COLUMN_PX = 1_000
#: The smallest text must stay at least this tall (CSS pixels) once the image is shrunk to the column.
LEGIBLE_PX = 8.5
#: So the drawing may be at most this wide (graphviz's PNG has 96 dpi: one pixel per CSS pixel of the SVG).
MAX_WIDTH_PX = int(COLUMN_PX * SMALL_FONT * 96 / 72 / LEGIBLE_PX)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def wide_spec(count: int, groups: bool) -> str:
    """A spec with `count` features (ids, categories, numerics) feeding two groups or an MLP
    directly, plus a DIN pool over two histories that share two features' tables."""
    lines = ['model wide_ctr "A CTR model with many features"']
    names = []
    for i in range(count):
        if i % 5 == 4:
            names.append(f"dense_signal_{i:02d}")
            lines.append(f"feature {names[-1]} : numeric(normalize=standard)")
        elif i % 3 == 0:
            names.append(f"user_attribute_{i:02d}")
            lines.append(f"feature {names[-1]} : id(buckets=50_000, dim=8)")
        else:
            names.append(f"item_attribute_{i:02d}")
            lines.append(f"feature {names[-1]} : category(size={10 + i}, dim=8)")
    lines += ["feature hist_items : sequence(of=item_attribute_01, max_len=50)",
              "feature hist_cates : sequence(of=item_attribute_02, max_len=50)",
              "pool interest = din(query=[item_attribute_01, item_attribute_02], keys=[hist_items, hist_cates])"]
    embedded = [n for n in names if not n.startswith("dense")]
    dense = [n for n in names if n.startswith("dense")]
    inputs = [*embedded, "interest", *dense]
    if groups:
        lines.append(f"group users = [{', '.join(n for n in embedded if n.startswith('user'))}]")
        lines.append(f"group items = [{', '.join(n for n in embedded if n.startswith('item'))}]")
        inputs = ["users", "items", "interest", *dense]
    lines += [f"block deep = mlp([{', '.join(inputs)}], units=[256, 128])", "output ctr = sigmoid(deep)"]
    return "\n".join(lines) + "\n"


GENERATED = {"wide40_groups": (40, True), "wide40": (40, False), "wide80": (80, False)}
CASES = [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in BUNDLED] + \
        [pytest.param(name, id=name) for name in GENERATED]


@pytest.fixture
def spec_path(request, tmp_path):
    case = request.param
    if isinstance(case, Path):
        return case
    path = tmp_path / f"{case}.rec"
    path.write_text(wide_spec(*GENERATED[case]))
    return path


def layout(path: Path) -> dict:
    source = to_dot(build_graph(recdsl.typecheck(path))).source
    done = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True, timeout=120)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()[:500]
    return json.loads(done.stdout)


def texts(ops: list[dict]) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, (x0, y0, x1, y1)) of each text an xdot op list draws; y grows upwards, the box spans
    the font's descent (0.25 em under the baseline) to its ascent (0.75 em over it)."""
    out, size = [], 14.0
    for op in ops:
        if op["op"] == "F":
            size = op["size"]
        elif op["op"] == "T":
            (x, y), width = op["pt"], op["width"]
            x0 = {"l": x, "c": x - width / 2, "r": x - width}[op["align"]]
            out.append((op["text"], (x0, y - 0.25 * size, x0 + width, y + 0.75 * size)))
    return out


def overlap(a, b, slack: float = 0.5) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def all_texts(drawing: dict) -> list[tuple[str, str, tuple]]:
    """(owner, text, box) of the title, every stage label and every node's label lines."""
    found = [("title", t, box) for t, box in texts(drawing.get("_ldraw_", []))]
    for obj in drawing["objects"]:
        found += [(obj["name"], t, box) for t, box in texts(obj.get("_ldraw_", []))]
    return found


def bezier_points(ops: list[dict], steps: int = 20):
    for op in ops:
        if op["op"] not in ("b", "B"):
            continue
        pts = op["points"]
        for i in range(0, len(pts) - 3, 3):
            p0, p1, p2, p3 = pts[i:i + 4]
            for s in range(steps + 1):
                t = s / steps
                yield tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c + t ** 3 * d
                            for a, b, c, d in zip(p0, p1, p2, p3))


@needs_dot
@pytest.mark.parametrize("spec_path", CASES, indirect=True)
def test_no_two_texts_overlap(spec_path):
    found = all_texts(layout(spec_path))
    assert len(found) > 5
    clashes = [(a[:2], b[:2]) for i, a in enumerate(found) for b in found[i + 1:] if overlap(a[2], b[2])]
    assert clashes == []


@needs_dot
@pytest.mark.parametrize("spec_path", CASES, indirect=True)
def test_edges_carry_no_text_and_run_through_no_node_text(spec_path):
    drawing = layout(spec_path)
    node_texts = [(obj["name"], t, box) for obj in drawing["objects"] if "nodes" not in obj
                  for t, box in texts(obj.get("_ldraw_", []))]
    names = {obj["_gvid"]: obj["name"] for obj in drawing["objects"]}
    for edge in drawing.get("edges", []):
        assert not any(k in edge for k in ("label", "xlabel", "headlabel", "taillabel", "_ldraw_")), edge
        crossed = {(owner, t) for x, y in bezier_points(edge.get("_draw_", []))
                   for owner, t, box in node_texts if overlap((x, y, x, y), box, slack=-0.5)}
        assert crossed == set(), (names[edge["tail"]], names[edge["head"]], crossed)


@needs_dot
@pytest.mark.parametrize("spec_path", CASES, indirect=True)
def test_the_png_fits_the_report_column_at_a_legible_size(spec_path, tmp_path):
    out = render(build_graph(recdsl.typecheck(spec_path)), tmp_path / "diagram.png")
    width, height = struct.unpack(">II", out.read_bytes()[16:24])  # the PNG's IHDR chunk
    assert width <= MAX_WIDTH_PX, f"{width} px wide: text {SMALL_FONT} pt is under {LEGIBLE_PX} px in the column"
    svg = render(build_graph(recdsl.typecheck(spec_path)), tmp_path / "diagram.svg").read_text()
    points = float(svg.split('<svg width="', 1)[1].split("pt", 1)[0])
    assert abs(points * 96 / 72 - width) <= 2  # the embedded SVG has the PNG's size


@needs_dot
def test_the_wide_spec_is_laid_out_in_rows_not_one_line(tmp_path):
    path = tmp_path / "wide.rec"
    path.write_text(wide_spec(40, False))
    drawing = layout(path)
    tops = {round(float(obj["pos"].split(",")[1])) for obj in drawing["objects"]
            if obj["name"].startswith(("user_attribute", "item_attribute", "dense_signal"))}
    assert len(tops) >= 5  # 40 features stacked in at least 5 rows
    assert float(drawing["bb"].split(",")[2]) < 1_000  # points; one row would be ~6,000
