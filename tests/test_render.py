"""The architecture diagram: deterministic DOT, every node drawn, sharing dashed, every format made,
and the CLI's behaviour without graphviz, over an existing file and for an unknown suffix."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

import recdsl
from recdsl.cli.main import main
from recdsl.diagram import (
    DOC_WIDTH,
    ID_WIDTH,
    VALUE_WIDTH,
    GraphvizMissing,
    dot_id,
    node_label,
    render,
    to_dot,
    visible,
)
from recdsl.graph import build_graph

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.rec"))
SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def graph_of(path):
    return build_graph(recdsl.typecheck(path))


def node_statement(dot_source: str, name: str) -> str | None:
    quoted = re.escape(name) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else re.escape(f'"{name}"')
    match = re.search(rf"^\t+{quoted} \[label=.*$", dot_source, re.MULTILINE)
    return match.group(0) if match else None


def edge_statements(dot_source: str, source: str, target: str) -> list[str]:
    """The DOT lines of the edges source -> target, ending on the node or on one of its ports."""
    def q(n):
        return n if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) else f'"{n}"'

    found = re.findall(rf"^\t{re.escape(q(source))} -> {re.escape(q(target))}(?::in\d+:n)?(?: \[.*)?$",
                       dot_source, re.MULTILINE)
    found += re.findall(rf'^\t{re.escape(q(source))} -> "bus \d+\.\d+" \[.*tooltip="{re.escape(source)} -> '
                        rf'{re.escape(target)} \(.*$', dot_source, re.MULTILINE)
    assert found, (source, target)
    return found


# --- DOT ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_dot_source_is_deterministic_and_names_every_node(path):
    first, second = to_dot(graph_of(path)).source, to_dot(graph_of(path)).source
    assert first == second
    g = graph_of(path)
    for name in g.nodes:
        assert node_statement(first, name), name
    for source, target, attrs in g.edges(data=True):
        edges = edge_statements(first, source, target)
        assert not any("label=" in edge for edge in edges)
        sharing = attrs["kind"] if attrs["kind"] != "data" else attrs.get("share_kind")
        assert len([e for e in edges if "style=dashed" in e]) == (1 if sharing else 0)
        assert any("style=dashed" not in e for e in edges) == (attrs["kind"] == "data")
        if sharing:
            assert f"shares {sharing} of {source}" in node_statement(first, target)


_DOT_ALL = (
    "import sys\n"
    "import recdsl\n"
    "from recdsl.graph import build_graph\n"
    "from recdsl.diagram import to_dot\n"
    "for path in sys.argv[1:]:\n"
    "    sys.stdout.write(to_dot(build_graph(recdsl.typecheck(path))).source)\n"
)


def test_dot_source_is_the_same_in_another_process():
    paths = [str(p.relative_to(ROOT)) for p in SPECS]
    env = dict(os.environ, PYTHONHASHSEED="7")
    done = subprocess.run([sys.executable, "-c", _DOT_ALL, *paths], cwd=ROOT, env=env, capture_output=True,
                          timeout=60, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "".join(to_dot(graph_of(ROOT / p)).source for p in paths)


def test_dot_title_and_clusters():
    g = graph_of(ROOT / "specs" / "din.rec")
    source = to_dot(g).source
    assert "din_ctr — 2,059,615 parameters" in source
    assert "CTR ranking with user-interest attention" in source
    for cluster, label in [("feature", "features"), ("pool", "pooling"), ("gate", "gating"),
                           ("block", "interaction"), ("output", "outputs")]:
        assert f"subgraph cluster_{cluster} {{" in source
        assert f"label={label}" in source


def test_node_label_shows_name_op_key_arguments_shape_and_params():
    g = graph_of(ROOT / "specs" / "din.rec")
    label = node_label("interest", g.nodes["interest"])
    assert label.startswith("<<b>interest</b><br/>DIN attention")
    assert "units=[80, 40], activation=dice" in label  # structure arguments, though default
    assert "normalize=" not in label  # other default arguments are left out
    assert "[B, 32] · 13,721 params" in label
    deep = node_label("deep", g.nodes["deep"])
    assert "units=[256, 128, 64]" in deep and "dropout=0.1" in deep
    assert "gate=poso(by=[user_id, age], units=32)" in deep
    user_id = node_label("user_id", g.nodes["user_id"])
    assert "buckets=100_000" in user_id and "dim=" not in user_id


def test_shared_weights_label_names_the_owner():
    g = graph_of(ROOT / "specs" / "attention.rec")
    assert "shares weights of target" in node_label("merged", g.nodes["merged"])


def test_anonymous_nodes_are_dashed():
    source = to_dot(graph_of(ROOT / "specs" / "din.rec")).source
    assert 'style="rounded,filled,dashed"' in node_statement(source, "ctr.concat")
    assert 'style="rounded,filled"]' in node_statement(source, "deep")


@needs_dot
def test_markup_characters_in_the_doc_still_give_valid_svg(tmp_path):
    path = tmp_path / "doc.rec"
    path.write_text('model m "a < b & \\"c\\""\nfeature a : category(vocab=["<x>", "&"])\noutput o = sigmoid(a)\n')
    source = to_dot(graph_of(path)).source
    assert 'a < b & \\"c\\"' in source  # the title is a quoted plain label
    out = render(graph_of(path), tmp_path / "doc.svg")
    titles = svg_titles(out.read_text())  # parses as XML
    assert {"a", "o"} <= set(titles)


# --- rendered files -------------------------------------------------------------------------

def svg_titles(svg_text: str) -> dict[str, ElementTree.Element]:
    root = ElementTree.fromstring(svg_text)
    return {g.find(f"{SVG}title").text: g for g in root.iter(f"{SVG}g")
            if g.get("class") in ("node", "edge")}


@needs_dot
@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_svg_draws_every_node_and_dashes_shared_edges(tmp_path, path):
    out = tmp_path / "model.svg"
    assert render(graph_of(path), out) == out
    titles = svg_titles(out.read_text())
    g = graph_of(path)
    for name in g.nodes:
        assert name in titles, name
        assert any(t.text == name for t in titles[name].iter(f"{SVG}text")), name
    for source, target, attrs in g.edges(data=True):
        drawn = svg_edges(titles, source, target)
        dashed = {any(p.get("stroke-dasharray") for p in edge.iter(f"{SVG}path")) for edge in drawn}
        expected = {attrs["kind"] != "data"} | ({True} if attrs.get("share_kind") else set())
        assert dashed == expected, (source, target, attrs)


def svg_edges(titles: dict[str, ElementTree.Element], source: str, target: str) -> list[ElementTree.Element]:
    """The drawn edges from source to target: straight to it (or to a port: `deep:n`), or onto a bus
    whose tooltip names the target."""
    direct = [titles[key] for key in (f"{source}->{target}", f"{source}->{target}:n") if key in titles]
    bus = [edge for key, edge in titles.items() if key.startswith(f"{source}->bus ")
           and any(a.get("{http://www.w3.org/1999/xlink}title", "").startswith(f"{source} -> {target} (")
                   for a in edge.iter(f"{SVG}a"))]
    assert direct or bus, (source, target)
    return direct + bus


@needs_dot
@pytest.mark.parametrize("suffix, magic", [
    (".svg", b"<?xml"), (".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF-"), (".dot", b"digraph din_ctr {"),
])
def test_cli_writes_each_format(tmp_path, capsys, suffix, magic):
    out = tmp_path / "sub" / f"din{suffix}"
    assert main(["render", str(ROOT / "specs" / "din.rec"), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic)
    assert capsys.readouterr().out == f"wrote {out}\n"


def test_dot_output_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr("recdsl.diagram.shutil.which", lambda name: None)
    out = tmp_path / "din.dot"
    assert main(["render", str(ROOT / "specs" / "din.rec"), "-o", str(out)]) == 0
    assert out.read_text() == to_dot(graph_of(ROOT / "specs" / "din.rec")).source


def test_cli_dot_file_is_byte_identical_across_runs(tmp_path):
    first, second = tmp_path / "one.dot", tmp_path / "two.dot"
    assert main(["render", str(ROOT / "specs" / "attention.rec"), "-o", str(first)]) == 0
    assert main(["render", str(ROOT / "specs" / "attention.rec"), "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()


def test_default_output_is_the_spec_name_as_svg(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("recdsl.diagram.shutil.which", lambda name: None)
    monkeypatch.chdir(tmp_path)
    assert main(["render", str(ROOT / "specs" / "dcn.rec")]) == 1
    assert (tmp_path / "dcn.dot").exists()
    assert "dcn.svg" in capsys.readouterr().err


def test_without_graphviz_the_cli_writes_dot_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("recdsl.diagram.shutil.which", lambda name: None)
    out = tmp_path / "din.svg"
    assert main(["render", str(ROOT / "specs" / "din.rec"), "-o", str(out)]) == 1
    assert not out.exists()
    fallback = tmp_path / "din.dot"
    assert fallback.read_text() == to_dot(graph_of(ROOT / "specs" / "din.rec")).source
    err = capsys.readouterr().err
    assert "not installed" in err
    assert "install graphviz" in err and "apt-get install graphviz" in err
    assert str(fallback) in err
    assert "Traceback" not in err


def test_library_render_raises_graphviz_missing(tmp_path, monkeypatch):
    monkeypatch.setattr("recdsl.diagram.shutil.which", lambda name: None)
    with pytest.raises(GraphvizMissing) as info:
        render(graph_of(ROOT / "specs" / "din.rec"), tmp_path / "x.png")
    assert str(info.value) == str(tmp_path / "x.dot")
    assert not (tmp_path / "x.png").exists()


def test_existing_output_without_force_is_refused(tmp_path, capsys):
    out = tmp_path / "din.dot"
    out.write_text("keep me")
    before = out.stat().st_mtime_ns
    assert main(["render", str(ROOT / "specs" / "din.rec"), "-o", str(out)]) == 2
    assert out.read_text() == "keep me"
    assert out.stat().st_mtime_ns == before
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err


def test_force_overwrites(tmp_path):
    out = tmp_path / "din.dot"
    out.write_text("old")
    assert main(["render", str(ROOT / "specs" / "din.rec"), "-o", str(out), "--force"]) == 0
    assert out.read_text().startswith("digraph din_ctr {")


@pytest.mark.parametrize("name", ["din.txt", "din.jpeg", "din"])
def test_unknown_suffix_exits_2(tmp_path, capsys, name):
    out = tmp_path / name
    assert main(["render", str(ROOT / "specs" / "din.rec"), "-o", str(out)]) == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    assert "unknown diagram format" in err and ".svg" in err


def test_library_render_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="unknown diagram format"):
        render(graph_of(ROOT / "specs" / "din.rec"), tmp_path / "x.gif")


def test_invalid_spec_renders_nothing(tmp_path, capsys):
    spec = tmp_path / "bad.rec"
    spec.write_text("model m\nfeature a : id(buckets=0)\noutput o = sigmoid(a)\n")
    out = tmp_path / "bad.dot"
    assert main(["render", str(spec), "-o", str(out)]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert f"{spec}:2:24: error:" in err and "Traceback" not in err


# --- text the diagram cannot take as it is ------------------------------------------------------

LONG = 20_000  # graphviz refuses quoted strings over 16,384 characters
AWKWARD = {
    "long-doc": f'model m "{"d" * LONG}"\nfeature a : id(buckets=10, dim=4)\noutput o = sigmoid(a)\n',
    "long-name": f"model m\nfeature a{'n' * LONG} : id(buckets=10, dim=4)\noutput o = sigmoid(a{'n' * LONG})\n",
    "long-model-name": f"model m{'n' * LONG}\nfeature a : id(buckets=10, dim=4)\noutput o = sigmoid(a)\n",
    "long-string-argument": f'model m\nfeature a : id(buckets=10, dim=4)\noutput o = sigmoid(a, label="{"l" * LONG}")\n',
    "nul-bytes": 'model m "a\x00b"\nfeature a : category(vocab=["x\x00y"], dim=4)\noutput o = sigmoid(a, label="l\x00")\n',
    "control-characters": 'model m "\x01\x1b[31m\x7f\x0c"\nfeature a : category(vocab=["\x02"], dim=4)\n'
                          'output o = sigmoid(a, label="\x1b\\t")\n',
    "trailing-backslash": 'model m "ends with \\\\"\nfeature a : id(buckets=10, dim=4)\noutput o = sigmoid(a)\n',
    "backslash-escapes": 'model m "\\\\N \\\\G \\\\l \\\\"\nfeature a : id(buckets=10, dim=4)\n'
                         'output o = sigmoid(a, label="\\\\")\n',
    "bidi-and-separators": 'model m "\u202eevil\u2028\x85 \U0001f600"\nfeature a : category(vocab=["<b>", "&amp;"], dim=4)\n'
                           'output o = sigmoid(a)\n',
}


@pytest.mark.parametrize("text", AWKWARD.values(), ids=AWKWARD.keys())
def test_awkward_text_still_gives_a_dot_file_graphviz_reads(tmp_path, text):
    spec = tmp_path / "awkward.rec"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "awkward.dot"
    assert main(["render", str(spec), "-o", str(out)]) == 0
    source = out.read_text(encoding="utf-8")
    assert "\x00" not in source and "\x01" not in source and "\x1b" not in source
    assert max(len(line) for line in source.splitlines()) < 2_000
    if shutil.which("dot"):
        done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()[:500]
        assert not done.stderr


@needs_dot
@pytest.mark.parametrize("text", AWKWARD.values(), ids=AWKWARD.keys())
def test_awkward_text_still_gives_an_svg(tmp_path, capsys, text):
    spec = tmp_path / "awkward.rec"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "awkward.svg"
    assert main(["render", str(spec), "-o", str(out)]) == 0, capsys.readouterr().err
    titles = svg_titles(out.read_text())  # parses as XML
    assert len([t for t in titles if "->" not in t]) == 2


def test_the_diagram_cuts_and_escapes_but_the_graph_keeps_the_full_text(tmp_path):
    spec = tmp_path / "awkward.rec"
    spec.write_text(f'model m "{"d" * LONG}\x00"\nfeature a : category(vocab=["x\x00y"], dim=4)\n'
                    f'output o = sigmoid(a, label="{"l" * LONG}")\n', encoding="utf-8")
    graph = graph_of(spec)
    assert graph.graph["doc"] == "d" * LONG + "\x00"
    assert graph.nodes["o"]["args"]["label"] == "l" * LONG
    source = to_dot(graph).source
    assert "d" * DOC_WIDTH not in source and "d" * (DOC_WIDTH - 1) + "…" in source
    assert "label=" + "l" * (VALUE_WIDTH - 1) + "…<" in source
    assert "x\\x00y" in source  # shown as its escape


def test_a_long_name_gets_a_short_unique_dot_id():
    one, two = "a" * 500 + "x", "a" * 500 + "y"
    assert len(dot_id(one)) == ID_WIDTH and dot_id(one) != dot_id(two) and dot_id(one) == dot_id(one)
    assert dot_id("ctr.concat") == "ctr.concat"
    assert visible("a\x00b\u202e" + "c" * 50, 10) == "a\\x00b\\u202eccccc…"


@needs_dot
def test_build_folder_diagram_of_an_awkward_spec(tmp_path):
    """`build` and the run report draw through the same function: an awkward spec draws there too."""
    spec = tmp_path / "awkward.rec"
    spec.write_text(AWKWARD["nul-bytes"], encoding="utf-8")
    out = render(graph_of(spec), tmp_path / "m.svg")
    assert out.read_text().startswith("<?xml")
