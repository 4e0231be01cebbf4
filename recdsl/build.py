"""`recdsl build`: spec -> out/ with model.keras, graph.json, the diagram and a summary table."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from recdsl.graph import build_graph, to_json_text
from recdsl.render import GraphvizMissing, render
from recdsl.typed import CheckedSpec
from recdsl.types import shape_text


class OutputExists(Exception):
    """The output folder is not empty and --force was not given."""


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: tuple[Path, ...]
    summary: str
    seconds: float
    diagram_missing: str | None = None


def summary_table(spec: CheckedSpec, model) -> str:
    """node | op | output shape | parameters, with the built model's own counts per node."""
    from recdsl.emit import layer_params

    rows = [("node", "op", "output shape", "params")]
    for node in spec.nodes:
        rows.append((node.name, node.op, shape_text(node.type), f"{layer_params(model, node):,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    fmt = lambda r: "  ".join(c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    lines = [fmt(rows[0]), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows[1:]]
    total = sum(layer_params(model, node) for node in spec.nodes)
    lines.append(f"trainable parameters: {total:,}")
    return "\n".join(line.rstrip() for line in lines)


def build(spec: CheckedSpec, out: str | Path, force: bool = False) -> BuildResult:
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExists(f"{out} is not empty; pass --force to overwrite it")
    start = time.perf_counter()
    from recdsl.emit import emit

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
