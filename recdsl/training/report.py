"""`report.md`, the page a recommendation engineer shows a colleague after `recdsl train`: summary,
spec, data, metrics, training, learning curves and attention diagnostics, with the run's
pictures (recdsl.training.plots).

Nothing here imports TensorFlow or Keras: the inputs are plain numbers (lists, dicts), so the
report can be rebuilt from a saved run without the model. The same inputs give the same
`report.md`, byte for byte.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from recdsl.training import markdown as md
from recdsl.training.atomic import write_text
from recdsl.training.diagnostics import CV_THRESHOLD, ENTROPY_THRESHOLD, uniformity_text, warnings_of
from recdsl.training.plausibility import implausible_results
from recdsl.training.plots import plot_attention, plot_curves
from recdsl.training.report_training import curves_section, training_section

SPLIT_ORDER = ("train", "valid", "test")


def _split_order(splits) -> list[str]:
    splits = list(splits)
    known = [s for s in SPLIT_ORDER if s in splits]
    return known + [s for s in splits if s not in SPLIT_ORDER]


def _outputs_in(per_split: Mapping[str, Mapping[str, Any]], splits: Sequence[str]) -> list[str]:
    names: list[str] = []
    for split in splits:
        for output in per_split.get(split) or {}:
            if output not in names:
                names.append(output)
    return names


_METRIC_TITLES = {"auc": "AUC", "logloss": "logloss"}


def format_metrics_table(metrics: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The metrics as a markdown table: one row per output and split (outputs in order of first
    appearance; splits train, valid, test, then any other), columns AUC and logloss with 4
    decimals, then any other metric found (in order of first appearance). A metric an output lacks
    shows as an em dash. metrics = {split: {output: {metric: value}}}."""
    splits = _split_order(metrics)
    outputs = _outputs_in(metrics, splits)
    columns = ["auc", "logloss"]
    for split in splits:
        for output in outputs:
            for key in (metrics.get(split) or {}).get(output) or {}:
                if key not in columns:
                    columns.append(key)
    rows = []
    for output in outputs:
        for split in splits:
            values = (metrics.get(split) or {}).get(output)
            if values is None:
                continue
            rows.append([output, split] + [md.num(values.get(c)) for c in columns])
    header = ["output", "split"] + [_METRIC_TITLES.get(c, c) for c in columns]
    return md.table(header, rows, ["l", "l"] + ["r"] * len(columns))


def _relative(path, run_dir: Path) -> str:
    path = Path(path)
    if path.is_absolute():
        try:
            return path.relative_to(run_dir.resolve()).as_posix()
        except ValueError:
            try:
                return path.relative_to(run_dir).as_posix()
            except ValueError:
                return path.as_posix()
    try:
        return path.relative_to(run_dir).as_posix()
    except ValueError:
        return path.as_posix()


def _files_cell(files: Sequence[Any]) -> str:
    names = [f"`{Path(f).as_posix()}`" for f in files]
    if len(names) <= 3:
        return ", ".join(names) if names else md.DASH
    return ", ".join(names[:2]) + f" and {len(names) - 2} more ({len(names)} files)"


# --------------------------------------------------------------------------- report sections


def _key_metric(metrics: Mapping[str, Any]) -> str | None:
    split = "test" if metrics.get("test") else ("valid" if metrics.get("valid") else None)
    if split is None:
        return None
    parts = []
    for output, values in metrics[split].items():
        values = values or {}
        if values.get("auc") is not None:
            text = f"AUC {md.num(values['auc'])}"
            if values.get("logloss") is not None:
                text += f" (logloss {md.num(values['logloss'])})"
        elif values.get("logloss") is not None:
            text = f"logloss {md.num(values['logloss'])}"
        elif values:
            key = next(iter(values))
            text = f"{key} {md.num(values[key])}"
        else:
            continue
        parts.append(f"{text} for `{output}`")
    if not parts:
        return None
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"On the {split} split it reaches {listed}."


def _summary(spec_name, data, metrics, timing, attention) -> str:
    epochs, best = timing.get("epochs"), timing.get("best_epoch")
    train_rows = (data.get("train") or {}).get("rows")
    text = f"`{spec_name}` was trained"
    if train_rows is not None:
        text += f" on {md.count(train_rows)} rows"
    if epochs is not None:
        text += f" for {epochs} epoch{'s' if epochs != 1 else ''}"
    if best is not None:
        text += f"; the best epoch was {best}" + (f" of {epochs}" if epochs is not None else "")
    text += "."
    key = _key_metric(metrics)
    if key:
        text += " " + key
    if timing.get("train_seconds") is not None:
        text += f" Training took {md.duration(timing['train_seconds'])}"
        if timing.get("samples_per_sec") is not None:  # steady; the Training section says on which epochs
            text += f" at {md.count(round(float(timing['samples_per_sec'])))} samples/s"
        text += "."
    fixes = data.get("fixes") or []
    if fixes:
        text += f" {len(fixes)} data fix{'es were' if len(fixes) != 1 else ' was'} applied (see Data)."
    if attention:
        flagged = [name for name, stats in attention.items() if warnings_of(stats)]
        if flagged:
            pools = ", ".join(f"`{n}`" for n in flagged)
            text += f" Attention diagnostics raise warnings for {pools}."
        else:
            pools = ", ".join(f"`{n}`" for n in attention)
            text += f" The attention weights of {pools} vary across history positions (no warnings)."
    return text


def _data_section(data: Mapping[str, Any]) -> list[str]:
    splits = _split_order(k for k in data if k != "fixes" and isinstance(data[k], Mapping))
    outputs: list[str] = []
    for split in splits:
        for output in (data[split].get("label_rate") or {}):
            if output not in outputs:
                outputs.append(output)
    header = ["split", "files", "rows"] + [f"positive rate ({o})" for o in outputs]
    rows = []
    for split in splits:
        info = data[split]
        rates = info.get("label_rate") or {}
        rows.append([split, _files_cell(info.get("files") or []), md.count(info.get("rows"))]
                    + [md.num(rates.get(o)) for o in outputs])
    lines = ["## Data", ""]
    lines += [md.table(header, rows, ["l", "l", "r"] + ["r"] * len(outputs)), ""]
    fixes = data.get("fixes") or []
    if fixes:
        lines += ["Rows fixed or dropped while loading:", ""]
        fix_rows = [[f.get("split", md.DASH), f"`{f['column']}`" if f.get("column") else md.DASH,
                     f.get("what", md.DASH), md.count(f.get("rows"))] for f in fixes]
        lines += [md.table(["split", "column", "what", "rows"], fix_rows, ["l", "l", "l", "r"]), ""]
    else:
        lines += ["No rows were fixed or dropped.", ""]
    return lines


def _attention_section(attention: Mapping[str, Mapping[str, Any]], image: str | None) -> list[str]:
    lines = ["## Attention diagnostics", ""]
    if not attention:
        return lines + ["The model has no attention pools.", ""]
    lines += [
        "Weights at valid (non-padding) history positions of the validation examples. Uniformity is "
        f"the mean over rows with two or more positions of the normalised entropy of the row's "
        f"weights for softmax pools (1 = uniform; near-uniform above {ENTROPY_THRESHOLD:g}), or of the "
        f"within-row coefficient of variation for unnormalised pools (0 = uniform; near-uniform "
        f"below {CV_THRESHOLD:g}). The histograms show the raw weights of unnormalised pools and, for "
        "softmax pools, each weight times the number of valid positions in its row (1 = a uniform "
        "share), which does not depend on history length.",
        "",
    ]
    header = ["pool", "weights", "rows with history", "positions", "mean", "std", "p5", "p50", "p95",
              "uniformity", "near uniform"]
    rows = []
    for name, s in attention.items():
        uniform = uniformity_text(s) or md.DASH
        near = s.get("near_uniform")
        rows.append([
            f"`{name}`", s.get("normalize", md.DASH),
            f"{md.count(s.get('rows_with_history'))} of {md.count(s.get('rows'))}",
            md.count(s.get("positions")),
            *(md.num(s.get(k), ".4g") for k in ("mean", "std", "p5", "p50", "p95")),
            uniform, md.DASH if near is None else ("**yes**" if near else "no"),
        ])
    lines += [md.table(header, rows, ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "l"]), ""]
    for name, s in attention.items():
        prefix = "" if s.get("pool") == name else f"`{name}`: "
        for text in warnings_of(s):
            lines += [f"> **Warning:** {prefix}{text}", ""]
    if image:
        lines += [f"![attention weight histograms]({image})", ""]
    return lines


def write_report(run_dir, *, spec_name: str, spec_path, spec_source: str,
                 data: Mapping[str, Any], metrics: Mapping[str, Any],
                 history: Mapping[str, Sequence[float]],
                 attention: Mapping[str, Mapping[str, Any]],
                 timing: Mapping[str, Any], config: Mapping[str, Any],
                 diagram=None, failure: str | None = None, served: Sequence[tuple[str, str]] = ()) -> Path:
    """Write run_dir/report.md, run_dir/curves.png and (when attention is non-empty)
    run_dir/attention.png; returns the path of report.md.

    data: {"train": {"files": [...], "rows": int, "label_rate": {output: rate}}, "valid": {...},
    "test": {...} (optional), "fixes": [{"split", "column", "what", "rows"}, ...]}.
    metrics: {split: {output: {"auc": .., "logloss": ..}}} ("test" optional).
    history: Keras History.history. attention: {pool: attention_stats(...)}.
    timing: {"epochs", "best_epoch", "train_seconds", "samples_per_sec" (steady), "compile_seconds",
    "steady" (what the steady figure is measured on), "build_seconds"}: recdsl.training.throughput.
    config: run settings, shown in insertion order. diagram: optional path of the architecture
    drawing (in run_dir, linked relative to it). failure: why the run stopped without a model (a
    failed run's report says so first; its history holds the epochs before it). served: (output,
    meaning) of the outputs served only (no label, loss or metric), listed under Metrics.

    Sections: title, summary paragraph (and a flag per implausible result:
    recdsl.training.plausibility), Spec, Data, Metrics, Training, Learning curves, Attention
    diagnostics. The text depends only on the inputs (no dates, no absolute run_dir paths; an
    absolute spec_path shows as its file name)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = data or {}
    metrics = metrics or {}
    history = history or {}
    attention = attention or {}
    timing = timing or {}
    config = config or {}
    best = timing.get("best_epoch")

    plot_curves(history, run_dir / "curves.png", best_epoch=best)
    attention_image = None
    if attention:
        plot_attention(attention, run_dir / "attention.png")
        attention_image = "attention.png"

    lines = [f"# Training report: {spec_name}", ""]
    if failure:
        lines += [f"> **This run failed:** {failure}. It saved no model.keras; checkpoints/best.keras, if "
                  "present, holds the best epoch before the failure.", ""]
    lines += [_summary(spec_name, data, metrics, timing, attention), ""]
    lines += [f"> **Implausible result:** {text}\n" for text in implausible_results(metrics, data)]

    lines += ["## Spec", ""]
    if spec_path is not None:  # an absolute path says where a machine keeps it: its name only
        shown = Path(spec_path).name if Path(spec_path).is_absolute() else Path(spec_path).as_posix()
        lines += [f"`{shown}`", ""]
    lines += [md.fence(spec_source or ""), ""]
    if diagram is not None:
        link = _relative(diagram, run_dir)
        lines += [f"Architecture diagram: [{link}]({link})", "", f"![architecture of {spec_name}]({link})", ""]

    lines += _data_section(data)

    lines += ["## Metrics", ""]
    lines += [format_metrics_table(metrics) if metrics else "No metrics were computed.", ""]
    if served:
        lines += ["Served only (no label, no loss, no metric; `recdsl predict` writes them, `recdsl export` "
                  "serves them): " + "; ".join(f"`{name}`: {meaning}" for name, meaning in served) + ".", ""]

    lines += training_section(timing, config)
    lines += curves_section(history, best)

    lines += _attention_section(attention, attention_image)

    text = "\n".join(lines).rstrip() + "\n"
    return write_text(run_dir / "report.md", text)
