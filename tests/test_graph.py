"""The dependency graph: node and edge attributes, sharing edges, acyclicity, and JSON that is
byte-for-byte the same across runs and processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import recdsl
from recdsl.cli.main import main
from recdsl.graph import build_graph, data_graph, sharing_edges, to_json_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.rec"))

SPEC = """\
model g "graph test"
feature a  : id(buckets=10, dim=8)
feature b  : category(vocab=["x", "y"], dim=8)
feature s  : sequence(of=a, max_len=5)
feature s2 : sequence(of=b, max_len=5)

pool p = attention(query=a, keys=s, values=s)
pool q = attention(query=b, keys=s2, values=s2, share=p)
gate w = senet([a, b, p, q])
block d = mlp(w, units=[4], gate=poso(by=[a]))
output o = sigmoid(concat(d, fm(w)))
"""


@pytest.fixture()
def graph(tmp_path):
    path = tmp_path / "g.rec"
    path.write_text(SPEC)
    return build_graph(recdsl.typecheck(path)), path


def test_graph_level_attributes(graph):
    g, _ = graph
    assert g.graph["name"] == "g"
    assert g.graph["doc"] == "graph test"
    assert g.graph["params"] == sum(p for _, p in g.nodes(data="params"))


def test_node_attributes(graph):
    g, path = graph
    a = g.nodes["a"]
    assert {k: a[k] for k in ("kind", "op", "label", "type", "shape", "params", "anonymous", "shares",
                              "share_kind")} == {
        "kind": "feature", "op": "id", "label": "hashed id", "type": "field", "shape": ["B", 8],
        "params": (10 + 2) * 8, "anonymous": False, "shares": None, "share_kind": None}
    assert a["args"] == {"buckets": 10, "dim": 8, "l2": 0.0, "init_std": None, "column": None}
    assert a["span"] == {"file": str(path), "line": 2, "column": 1, "end_line": 2, "end_column": 35}

    s = g.nodes["s"]
    assert (s["kind"], s["op"], s["type"], s["shape"], s["params"]) == ("feature", "sequence", "seq", ["B", 5, 8], 0)
    assert (s["shares"], s["share_kind"]) == ("a", "table")

    w = g.nodes["w"]
    assert (w["kind"], w["op"], w["label"], w["type"], w["shape"]) == ("gate", "senet", "SENet gate", "stack",
                                                                      ["B", 4, 8])
    assert w["span"]["line"] == 9

    d = g.nodes["d"]
    assert (d["kind"], d["shape"]) == ("block", ["B", 4])
    assert d["args"]["gate"] == {"op": "poso", "by": ["a"], "units": 32, "scale": 2.0}

    o = g.nodes["o"]
    assert (o["kind"], o["op"], o["shape"], o["params"]) == ("output", "sigmoid", ["B", 1], 5 + 1)


def test_anonymous_nodes(graph):
    g, _ = graph
    concat, fm = g.nodes["o.concat"], g.nodes["o.concat.fm"]
    assert concat["anonymous"] and fm["anonymous"]
    assert (concat["kind"], concat["op"], concat["shape"]) == ("block", "concat", ["B", 5])
    assert (fm["kind"], fm["op"], fm["shape"], fm["params"]) == ("block", "fm", ["B", 1], 0)
    assert fm["span"]["line"] == 11 and fm["span"]["column"] == 30
    assert g.has_edge("o.concat.fm", "o.concat") and g.has_edge("o.concat", "o")


def test_data_edges_carry_role_and_the_source_shape(graph):
    g, _ = graph
    assert g.edges["a", "p"] == {"kind": "data", "role": "query", "shape": ["B", 8]}
    assert g.edges["s", "p"] == {"kind": "data", "role": "keys,values", "shape": ["B", 5, 8]}
    assert g.edges["w", "d"] == {"kind": "data", "role": "x", "shape": ["B", 4, 8]}
    assert g.edges["a", "d"] == {"kind": "data", "role": "gate.by", "shape": ["B", 8]}
    assert g.edges["o.concat", "o"]["shape"] == ["B", 5]
    for u, v, attrs in g.edges(data=True):
        assert attrs["shape"] == g.nodes[u]["shape"], (u, v)


def test_table_and_weight_sharing_edges(graph):
    g, _ = graph
    assert g.edges["a", "s"] == {"kind": "table", "role": "shares", "shape": ["B", 8]}
    assert g.edges["b", "s2"] == {"kind": "table", "role": "shares", "shape": ["B", 8]}
    assert g.edges["p", "q"] == {"kind": "weights", "role": "shares", "shape": ["B", 8]}
    assert g.nodes["q"]["params"] == 0 and g.nodes["p"]["params"] > 0
    sharing = sorted((u, v, k) for u, v, k in g.edges(data="kind") if k != "data")
    assert sharing == [("a", "s", "table"), ("b", "s2", "table"), ("p", "q", "weights")]
    assert sorted(sharing_edges(g)) == sharing


def test_every_sharing_node_has_its_sharing_edge(graph):
    g, _ = graph
    for name, attrs in g.nodes(data=True):
        if attrs["shares"]:
            assert (attrs["shares"], name, attrs["share_kind"]) in sharing_edges(g)


def test_weight_sharing_edge_survives_a_data_edge_between_the_same_nodes(tmp_path):
    path = tmp_path / "tied.rec"
    path.write_text("model m\nfeature a : id(buckets=10, dim=8)\nblock x = mlp(a, units=[8])\n"
                    "block y = mlp(x, units=[8], share=x)\noutput o = sigmoid(y)\n")
    from recdsl.diagram import to_dot

    g = build_graph(recdsl.typecheck(path))
    assert g.nodes["y"]["share_kind"] == "weights"
    assert g.edges["x", "y"] == {"kind": "data", "role": "x", "shape": ["B", 8], "share_kind": "weights"}
    assert sharing_edges(g) == [("x", "y", "weights")]
    source = to_dot(g).source
    assert "shares weights of x" in source and "style=dashed" not in source.split("x -> y", 2)[1].split("\n", 1)[0]
    assert source.count("x -> y") == 2  # the data edge and the dashed sharing edge
    edges = json.loads(to_json_text(g))["edges"]
    assert [e for e in edges if (e["source"], e["target"]) == ("x", "y")] == [
        {"source": "x", "target": "y", "kind": "data", "role": "x", "shape": ["B", 8], "share_kind": "weights"}]
    assert to_json_text(g) == to_json_text(build_graph(recdsl.typecheck(path)))
    data = data_graph(g)
    assert data.edges["x", "y"] == {"kind": "data", "role": "x", "shape": ["B", 8]}
    assert g.edges["x", "y"]["share_kind"] == "weights"  # data_graph copies, never mutates


def test_graph_text_listing_shows_a_merged_sharing_edge(tmp_path, capsys):
    path = tmp_path / "tied.rec"
    path.write_text("model m\nfeature a : id(buckets=10, dim=8)\nblock x = mlp(a, units=[8])\n"
                    "block y = mlp(x, units=[8], share=x)\noutput o = sigmoid(y)\n")
    assert main(["graph", str(path)]) == 0
    assert "y: mlp [B, 8] 0 params <- x, x (weights)" in capsys.readouterr().out.splitlines()


def test_data_graph_drops_sharing_edges(graph):
    g, _ = graph
    data = data_graph(g)
    assert {k for _, _, k in data.edges(data="kind")} == {"data"}
    assert ("a", "s") not in data.edges and ("p", "q") not in data.edges
    assert data.number_of_edges() == g.number_of_edges() - 3
    assert g.number_of_edges() == data.number_of_edges() + 3  # build_graph's result is not mutated


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_example_graphs(path):
    spec = recdsl.typecheck(path)
    g = build_graph(spec)
    assert nx.is_directed_acyclic_graph(g)
    assert list(g.nodes) == [n.name for n in spec.nodes]
    assert g.graph["params"] == sum(p for _, p in g.nodes(data="params")) == spec.total_params
    outputs = [n for n, k in g.nodes(data="kind") if k == "output"]
    assert outputs and all(g.out_degree(n) == 0 for n in outputs)
    for name, attrs in g.nodes(data=True):
        assert attrs["kind"] in ("feature", "group", "pool", "gate", "block", "output")
        assert attrs["shape"][0] == "B"
        assert attrs["span"]["line"] >= 1 and attrs["span"]["file"] == str(path)
        if attrs["kind"] != "feature" or attrs["share_kind"]:
            assert g.in_degree(name) > 0, name
    for u, v, attrs in g.edges(data=True):
        assert attrs["kind"] in ("data", "table", "weights")
        if attrs["kind"] != "data":
            assert g.nodes[v]["shares"] == u


def test_din_graph_edges():
    g = build_graph(recdsl.typecheck(ROOT / "specs" / "din.rec"))
    assert g.edges["item_id", "interest"] == {"kind": "data", "role": "query", "shape": ["B", 16]}
    assert g.edges["hist_cates", "interest"]["role"] == "keys"
    assert g.edges["item_id", "hist_items"]["kind"] == "table"
    assert g.edges["item_cate", "hist_cates"]["kind"] == "table"
    assert g.edges["user", "fields"]["shape"] == ["B", 3, 16]
    assert g.edges["user_id", "deep"]["role"] == "gate.by"
    assert g.edges["age", "deep"]["role"] == "x,gate.by"


# --- JSON -----------------------------------------------------------------------------------

def graph_json(capsys, path) -> str:
    assert main(["graph", "--json", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_graph_json_is_the_same_across_runs(capsys, path):
    first, second = graph_json(capsys, path), graph_json(capsys, path)
    assert first == second
    assert first == to_json_text(build_graph(recdsl.typecheck(path)))
    data = json.loads(first)
    assert data["directed"] is True and data["multigraph"] is False
    assert [n["id"] for n in data["nodes"]] == [n.name for n in recdsl.typecheck(path).nodes]
    edges = [(e["source"], e["target"]) for e in data["edges"]]
    assert edges == sorted(edges)
    assert data["graph"]["params"] == sum(n["params"] for n in data["nodes"])


_DUMP_ALL = (
    "import sys\n"
    "from recdsl.cli.main import main\n"
    "for path in sys.argv[1:]:\n"
    "    sys.stdout.write('=== ' + path + '\\n')\n"
    "    sys.stdout.flush()\n"
    "    assert main(['graph', '--json', path]) == 0\n"
)


def test_graph_json_is_byte_identical_across_processes():
    paths = [str(p.relative_to(ROOT)) for p in SPECS]
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", _DUMP_ALL, *paths], cwd=ROOT, env=env, capture_output=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"=== ") == len(SPECS)
    assert b'"directed": true' in outputs[0]


def test_graph_text_listing(capsys):
    assert main(["graph", str(ROOT / "specs" / "attention.rec")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == len(recdsl.typecheck(ROOT / "specs" / "attention.rec").nodes)
    assert any(ln.startswith("hist_items: sequence") and "<- item_id (table)" in ln for ln in lines)
    assert any(ln.startswith("merged: attention") and "target (weights)" in ln for ln in lines)


def test_graph_text_listing_shapes_read_like_the_rest(capsys):
    assert main(["graph", str(ROOT / "specs" / "attention.rec")]) == 0
    assert "user_id: id [B, 16] 1,600,032 params" in capsys.readouterr().out.splitlines()
