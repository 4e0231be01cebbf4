"""`recdsl build`: spec -> out/ with model.keras, graph.json, the diagram and a summary table.

Also the home of the plain-text node tables: `format_table` lays out every one, `node_table` is
`recdsl check --table`, `summary_table` the build folder's summary.txt."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from recdsl.checker.spec import CheckedSpec
from recdsl.diagram import GraphvizMissing, render
from recdsl.errors import OutputExists
from recdsl.graph import build_graph, to_json_text
from recdsl.ops.types import shape_text


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: tuple[Path, ...]
    summary: str
    seconds: float
    diagram_missing: str | None = None


def format_table(rows: list[tuple[str, ...]], footer: str) -> str:
    """A plain-text table: header row, rule, rows (last column right-aligned), footer line."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    last = len(widths) - 1

    def line(row):
        return "  ".join(c.rjust(w) if i == last else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    lines = [line(rows[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in rows[1:]] + [footer]
    return "\n".join(text.rstrip() for text in lines)


def node_table(spec: CheckedSpec) -> str:
    """node | kind | op | output shape | parameters, with the checker's counts (no Keras)."""
    rows = [("node", "kind", "op", "output shape", "params")]
    rows += [(n.name, n.kind, n.op, shape_text(n.type), f"{n.params:,}") for n in spec.nodes]
    return format_table(rows, f"total parameters: {spec.total_params:,}")


def summary_table(spec: CheckedSpec, model) -> str:
    """node | op | output shape | parameters, with the built model's own counts per node."""
    from recdsl.emitter import layer_params

    counts = [layer_params(model, node) for node in spec.nodes]
    rows = [("node", "op", "output shape", "params")]
    rows += [(n.name, n.op, shape_text(n.type), f"{c:,}") for n, c in zip(spec.nodes, counts)]
    return format_table(rows, f"trainable parameters: {sum(counts):,}")


def build(spec: CheckedSpec, out: str | Path, force: bool = False) -> BuildResult:
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExists(f"{out} is not empty; pass --force to overwrite it")
    start = time.perf_counter()
    from recdsl.emitter import emit

    model = emit(spec)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "model.keras"
    model.save(model_path)
    graph = build_graph(spec)
    (out / "graph.json").write_text(to_json_text(graph))
    summary = summary_table(spec, model)
    (out / "summary.txt").write_text(summary + "\n")
    files = [model_path, out / "graph.json", out / "summary.txt"]
    missing = None
    try:
        files.append(render(graph, out / f"{spec.name}.svg"))
    except GraphvizMissing as absent:
        missing = str(absent)
        files.append(Path(absent.args[0]))
    return BuildResult(out, tuple(files), summary, time.perf_counter() - start, missing)
