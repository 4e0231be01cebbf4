"""No module outside ops/ (the registry) and layers/ (the components themselves) names an op:
the emitter, checker, data schema, training, diagnostics and serving read what each op
declares in the registry instead of branching on its name. Strings that merely look like op
names (a graphviz format, a statistic, an input form) are listed here with what they are."""
from __future__ import annotations

import ast
from pathlib import Path

from recdsl.ops import load

PACKAGE = Path(__file__).resolve().parents[2] / "recdsl"

#: (module, string) -> what the string is there, when it is not the op of that name
NOT_OPS = {
    ("checker/forms.py", "sequence"): "the input form `sequence` (registry.ACCEPTS)",
    ("emitter.py", "sequence"): "the input form `sequence` (registry.ACCEPTS)",
    ("emitter.py", "concat"): "the Merge layer's mode when a vector slot joins several values",
    ("diagram.py", "dot"): "graphviz's dot format and program",
    ("review/picture.py", "dot"): "graphviz's dot format and program",
    ("lsp/completion.py", "sequence"): "the input form `sequence` (registry.ACCEPTS)",
    ("data/preprocess.py", "numeric"): "the key of numeric statistics in preprocessing.json",
    ("data/preprocess.py", "max"): "a numeric column's maximum (minmax statistics)",
    ("training/diagnostics.py", "max"): "the largest attention weight of a row",
    ("training/diagnostics.py", "positions"): "the number of attention weights a summary covers",
    ("training/plots.py", "positions"): "an axis label of the attention histogram",
    ("training/report.py", "positions"): "a column of the report's attention table",
    ("training/history.py", "max"): "a monitored metric that is better when larger",
    ("training/progress.py", "max"): "a monitored metric that is better when larger",
    ("serving/signature.py", "id"): "the node key of networkx node-link JSON (graph.json)",
}


def _literals():
    names = set(load())
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/")[0] in ("ops", "layers"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                yield rel, node.value, node.lineno


def test_no_module_outside_ops_names_an_op():
    found = [f"recdsl/{rel}:{line}: {value!r}" for rel, value, line in _literals() if (rel, value) not in NOT_OPS]
    assert not found, "read the op's registry declarations instead of its name:\n" + "\n".join(found)


def test_every_exemption_is_still_needed():
    seen = {(rel, value) for rel, value, _ in _literals()}
    assert set(NOT_OPS) <= seen, f"no longer needed: {sorted(set(NOT_OPS) - seen)}"
