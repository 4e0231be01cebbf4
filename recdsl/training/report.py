"""The run report of `recdsl train`: attention diagnostics, learning-curve and attention plots,
and `report.md`, the page a recommendation engineer shows a colleague.

Nothing here imports TensorFlow or Keras: the inputs are plain numbers (numpy arrays, lists,
dicts), so the report can be rebuilt from a saved run without the model. matplotlib is imported
inside the plotting functions and used through its object-oriented API with the Agg canvas
(no pyplot, so the process-wide backend is never touched). Every function is deterministic given
its inputs: the same inputs give the same `report.md`, byte for byte.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

NORMALIZE_MODES = ("none", "softmax")

#: softmax pools: a pool is flagged near-uniform when the mean over rows of the normalised entropy
#: H / log(n_valid) of each row's weights is above this. For small deviations from uniform,
#: H / log(n) ~= 1 - CV**2 / (2 log n), so 0.99 means the weights of a typical row stay within
#: about +-20% (10 positions) to +-28% (50 positions) of 1/n.
ENTROPY_THRESHOLD = 0.99
#: unnormalised ("none", DIN) pools: flagged near-uniform when the mean over rows of the within-row
#: coefficient of variation (see `attention_stats`) is below this, i.e. the weights of a typical
#: row differ from their row mean by less than about 10%.
CV_THRESHOLD = 0.10
#: unnormalised pools whose largest |weight| over all valid positions is below this are "dead".
DEAD_WEIGHT = 1e-6
#: softmax rows whose sum over valid positions is further than this from 1 trigger a warning.
SOFTMAX_SUM_TOL = 1e-3
HISTOGRAM_BINS = 20
SPLIT_ORDER = ("train", "valid", "test")
DASH = "\u2014"  # shown for a missing value


# --------------------------------------------------------------------------- attention statistics


def _f(value) -> float:
    return float(value)


def _pool_label(name: str | None) -> str:
    return f"attention weights of `{name}`" if name else "attention weights"


def attention_stats(weights, mask, normalize: str, *, name: str | None = None) -> dict[str, Any]:
    """Summary statistics and a uniformity check of the weights an attention pool gave each
    history position.

    weights: float array [N, L] (a trailing axis of size 1 is dropped), one row per validation
    example. mask: bool array [N, L], True at valid (non-padding) positions; None means all valid.
    normalize: "none" (DIN: unnormalised scores, any real numbers) or "softmax" (each row sums to 1
    over its valid positions). name: the pool's name, used in the warning text.

    Only valid positions count; the values at masked positions are ignored entirely. Valid
    positions holding NaN or +-inf are counted in "nonfinite", excluded, and produce a warning.

    Returned keys (all JSON-serialisable):

    - rows (N), rows_with_history (rows with >= 1 valid position), rows_without_history,
      rows_measured (rows with >= 2 valid finite positions: the rows the uniformity is measured on),
      positions (valid finite positions), nonfinite;
    - mean, var (population variance, ddof=0), std, min, max, p5, p50, p95 (numpy's linear
      quantiles), over all valid positions of all rows pooled together;
    - histogram: {"edges": 21 floats, "counts": 20 ints}, `numpy.histogram` with 20 bins over the
      range of the valid weights;
    - relative_histogram (softmax only, else None): the same over n_valid * p of the measured rows,
      the weight relative to a uniform share (1 = uniform), which unlike the raw softmax weight
      does not depend on the length of the history;
    - uniformity_measure, uniformity, uniformity_threshold, near_uniform_rows, near_uniform,
      warning, warnings (see below), plus the measure under its own name
      (mean_normalised_entropy or mean_within_row_cv).

    Uniformity. The question is whether a pool weighs the positions of one history differently, or
    behaves like plain avg/sum pooling. It is measured per row with >= 2 valid positions, and the
    rows' values are averaged:

    - "softmax": the row's weights over its valid positions are a distribution p (renormalised to
      sum 1; a row that does not sum to 1 also triggers a warning, usually a softmax that included
      padding). The measure is the normalised entropy H(p) / log(n_valid), 1 for uniform weights,
      0 for all weight on one position. near_uniform when the mean is > ENTROPY_THRESHOLD (0.99).
    - "none": unnormalised weights are not a distribution (they can be negative, and their scale
      carries the intensity of interest, which DIN keeps on purpose). The measure is the within-row
      coefficient of variation std_row / mean_row(|w|) (population std), the ordinary CV when a
      row's weights share a sign and still finite when they straddle zero; a row of zeros counts as
      0. near_uniform when the mean is < CV_THRESHOLD (0.10): the pool then is a per-example scaled
      sum pooling. Separately, a pool whose weights are all below 1e-6 in magnitude is reported
      as dead.

    near_uniform_rows counts the rows that pass the threshold on their own. When no row has two
    valid positions the uniformity, near_uniform and the measure are None. With no valid position
    at all, every statistic is None (the counts are still given) and the warning says there was no
    history to measure.
    """
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f"normalize must be one of {NORMALIZE_MODES}, got {normalize!r}")
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 3 and w.shape[-1] == 1:
        w = w[..., 0]
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2:
        raise ValueError(f"weights must have shape [N, L], got {tuple(np.shape(weights))}")
    if mask is None:
        m = np.ones(w.shape, dtype=bool)
    else:
        m = np.asarray(mask)
        if m.ndim == 3 and m.shape[-1] == 1:
            m = m[..., 0]
        if m.ndim == 1:
            m = m[None, :]
        m = m.astype(bool)
        if m.shape != w.shape:
            raise ValueError(f"mask shape {m.shape} does not match weights shape {w.shape}")

    label = _pool_label(name)
    rows = int(w.shape[0])
    rows_with_history = int(m.any(axis=1).sum())
    finite = np.isfinite(w)
    nonfinite = int((m & ~finite).sum())
    m = m & finite
    w = np.where(m, w, 0.0)  # masked positions can hold anything, NaN included
    n_valid = m.sum(axis=1)
    values = w[m]
    measure = "normalised_entropy" if normalize == "softmax" else "within_row_cv"
    threshold = ENTROPY_THRESHOLD if normalize == "softmax" else CV_THRESHOLD
    measured = n_valid >= 2

    out: dict[str, Any] = {
        "pool": name,
        "normalize": normalize,
        "rows": rows,
        "rows_with_history": rows_with_history,
        "rows_without_history": rows - rows_with_history,
        "rows_measured": int(measured.sum()),
        "positions": int(values.size),
        "nonfinite": nonfinite,
    }
    warnings: list[str] = []
    if nonfinite:
        warnings.append(
            f"{label} hold {nonfinite:,} non-finite value(s) (NaN or inf) at valid positions; they "
            "were left out of these statistics: the model has diverged or a feature overflowed."
        )

    if values.size == 0:
        out.update({key: None for key in ("mean", "var", "std", "min", "max", "p5", "p50", "p95")})
        out["histogram"] = {"edges": [], "counts": []}
        out["relative_histogram"] = None
        out.update(uniformity_measure=measure, uniformity=None, uniformity_threshold=threshold,
                   near_uniform_rows=0, near_uniform=None)
        out["mean_normalised_entropy" if normalize == "softmax" else "mean_within_row_cv"] = None
        warnings.append(
            f"{label}: there was no history to measure ({rows:,} rows, none with a valid "
            "position); check that the history columns are filled and the mask is not all padding."
        )
        out["warning"] = warnings[0] if len(warnings) == 1 else " ".join(warnings)
        out["warnings"] = warnings
        return out

    p5, p50, p95 = np.quantile(values, [0.05, 0.5, 0.95])
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    out.update(
        mean=_f(values.mean()), var=_f(values.var()), std=_f(values.std()),
        min=_f(values.min()), max=_f(values.max()), p5=_f(p5), p50=_f(p50), p95=_f(p95),
        histogram={"edges": [_f(e) for e in edges], "counts": [int(c) for c in counts]},
    )

    n = np.maximum(n_valid, 1).astype(np.float64)
    if normalize == "softmax":
        has = n_valid >= 1
        sums = w.sum(axis=1)
        off = has & (np.abs(sums - 1.0) > SOFTMAX_SUM_TOL)
        if off.any():
            lo, hi = float(sums[has].min()), float(sums[has].max())
            warnings.append(
                f"{label}: {int(off.sum()):,} of {int(has.sum()):,} rows do not sum to 1 over their "
                f"valid positions (row sums {lo:.4g} to {hi:.4g}): the softmax may include padding "
                "positions, or the weights are not softmax-normalised; entropies were computed "
                "after renormalising each row."
            )
        p = np.clip(w, 0.0, None)
        total = p.sum(axis=1)
        measured = measured & (total > 0)
        p = p / np.where(total > 0, total, 1.0)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        entropy = -plogp.sum(axis=1)
        relative = (p * n_valid[:, None])[m & measured[:, None]]
        if relative.size:
            rel_counts, rel_edges = np.histogram(relative, bins=HISTOGRAM_BINS)
            out["relative_histogram"] = {"edges": [_f(e) for e in rel_edges],
                                         "counts": [int(c) for c in rel_counts]}
        per_row = entropy[measured] / np.log(n_valid[measured])
        near_rows = per_row > threshold
    else:
        mean_row = w.sum(axis=1) / n
        var_row = (np.where(m, w - mean_row[:, None], 0.0) ** 2).sum(axis=1) / n
        abs_row = np.abs(w).sum(axis=1) / n
        std_row = np.sqrt(var_row)
        cv = np.divide(std_row, abs_row, out=np.zeros_like(std_row), where=abs_row > 0)
        per_row = cv[measured]
        near_rows = per_row < threshold

    out.setdefault("relative_histogram", None)
    if per_row.size:
        uniformity = _f(per_row.mean())
        near = bool(uniformity > threshold) if normalize == "softmax" else bool(uniformity < threshold)
    else:
        uniformity, near = None, None
    out.update(uniformity_measure=measure, uniformity=uniformity, uniformity_threshold=threshold,
               near_uniform_rows=int(near_rows.sum()), near_uniform=near)
    out["mean_normalised_entropy" if normalize == "softmax" else "mean_within_row_cv"] = uniformity

    dead = normalize == "none" and float(np.abs(values).max()) < DEAD_WEIGHT
    if dead:
        warnings.append(
            f"{label} are all about zero (max |w| {float(np.abs(values).max()):.3g}): the pool "
            "outputs about zero for every example; the attention MLP may have collapsed (dead "
            "activations), try a lower learning rate or another activation."
        )
    elif near:
        if normalize == "softmax":
            what = f"mean normalised entropy {uniformity:.4f} > {threshold:g}"
            acts = "avg pooling"
        else:
            what = f"mean within-row coefficient of variation {uniformity:.4f} < {threshold:g}"
            acts = "sum pooling scaled per example"
        warnings.append(
            f"{label} are close to uniform ({what}, over {int(per_row.size):,} rows): the pool "
            f"behaves like {acts}; check that the query and keys share an embedding space, "
            "and the learning rate."
        )
    elif uniformity is None:
        warnings.append(
            f"{label}: no row has two or more valid history positions, so the uniformity of the "
            "weights could not be measured."
        )
    out["warning"] = (warnings[0] if len(warnings) == 1 else " ".join(warnings)) if warnings else None
    out["warnings"] = warnings
    return out


def _warnings_of(stats: Mapping[str, Any]) -> list[str]:
    found = stats.get("warnings")
    if found is None:
        found = [stats["warning"]] if stats.get("warning") else []
    return [str(text) for text in found]


# --------------------------------------------------------------------------- plots


def _figure(n_panels: int, *, width: float = 4.4, height: float = 3.3, max_cols: int = 3):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = max(1, min(max_cols, n_panels))
    rows = max(1, math.ceil(n_panels / cols))
    fig = Figure(figsize=(width * cols, height * rows), dpi=110)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(max(1, n_panels))]
    return fig, axes


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110, metadata={"Software": None})
    return path


def _numeric_series(values) -> list[float] | None:
    try:
        series = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    return series or None


def _metric_families(history: Mapping[str, Sequence[float]]) -> list[tuple[str, str | None, str | None]]:
    """(family, train key, validation key) per metric, in a fixed order: loss, the other losses,
    every *auc, every *logloss, then the rest alphabetically."""
    keys = [k for k in history if _numeric_series(history[k]) is not None]
    bases: dict[str, dict[str, str]] = {}
    for key in keys:
        base, role = (key[4:], "valid") if key.startswith("val_") else (key, "train")
        bases.setdefault(base, {})[role] = key

    def rank(base: str):
        if base == "loss":
            group = 0
        elif base.endswith("loss") and not base.endswith("logloss"):
            group = 1
        elif base.endswith("auc"):
            group = 2
        elif base.endswith("logloss"):
            group = 3
        else:
            group = 4
        return group, base

    return [(b, bases[b].get("train"), bases[b].get("valid")) for b in sorted(bases, key=rank)]


def plot_curves(history: Mapping[str, Sequence[float]], path, *, best_epoch: int | None = None) -> Path:
    """Learning curves from a Keras `History.history` dict as one PNG: one panel per metric family
    (loss, each output's loss, each *auc, each *logloss, then any other series such as a learning
    rate), training (solid) against validation (dashed) per epoch, x = epoch from 1 with integer
    ticks. Series present only for validation are drawn alone; a single epoch is drawn as points.
    best_epoch (1-based) adds a dotted vertical line. An empty history gives a one-panel PNG that
    says so. Returns the path written."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    families = _metric_families(history)
    fig, axes = _figure(len(families))
    if not families:
        axes[0].text(0.5, 0.5, "no epochs recorded", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_axis_off()
        return _save(fig, path)
    longest = 1
    for ax, (base, train_key, valid_key) in zip(axes, families):
        for key, label, style, color in ((train_key, "train", "-", "tab:blue"),
                                         (valid_key, "validation", "--", "tab:orange")):
            if key is None:
                continue
            series = _numeric_series(history[key])
            epochs = list(range(1, len(series) + 1))
            longest = max(longest, len(series))
            ax.plot(epochs, series, linestyle=style, marker="o", markersize=3.5, color=color, label=label)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="0.45", linestyle=":", linewidth=1.1, label=f"best epoch {best_epoch}")
        ax.set_title(base.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[: len(families)]:
        ax.set_xlim(0.5, longest + 0.5)
        if longest <= 15:  # MaxNLocator falls back to fractions when there are few integers
            ax.xaxis.set_major_locator(FixedLocator(list(range(1, longest + 1))))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[len(families):]:
        ax.set_axis_off()
    return _save(fig, path)


def _pool_caption(name: str, stats: Mapping[str, Any]) -> str:
    value = stats.get("uniformity")
    if value is None:
        return f"{name} ({stats.get('normalize', '?')})"
    short = "entropy" if stats.get("uniformity_measure") == "normalised_entropy" else "CV"
    return f"{name} ({stats.get('normalize', '?')}, {short} {value:.4f})"


def plot_attention(stats_by_pool: Mapping[str, Mapping[str, Any]], path) -> Path:
    """Histograms of the attention weights at valid positions, one panel per pool, drawn from each
    pool's `attention_stats`: the "histogram" of the raw weights with a dashed line at the mean;
    for softmax pools the "relative_histogram" (weight x valid positions of its row, dashed line at
    1 = uniform share) when present, since raw softmax weights mostly reflect history lengths. The
    title of a pool flagged near-uniform or dead is red; a pool with no history gets a panel that
    says so."""
    names = list(stats_by_pool)
    fig, axes = _figure(len(names))
    if not names:
        axes[0].text(0.5, 0.5, "no attention pools", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_axis_off()
        return _save(fig, path)
    for ax, name in zip(axes, names):
        stats = stats_by_pool[name]
        relative = stats.get("relative_histogram")
        hist = relative or stats.get("histogram") or {}
        edges, counts = list(hist.get("edges") or []), list(hist.get("counts") or [])
        flagged = bool(stats.get("near_uniform")) or any(
            "about zero" in text for text in _warnings_of(stats))
        ax.set_title(_pool_caption(name, stats), color="tab:red" if flagged else "black", fontsize=10)
        if not counts or len(edges) != len(counts) + 1:
            ax.text(0.5, 0.5, "no history to measure", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        ax.stairs(counts, edges, fill=True, color="tab:blue", alpha=0.75)
        if relative:
            ax.axvline(1.0, color="0.2", linestyle="--", linewidth=1.0, label="uniform share")
            ax.legend(fontsize=8)
            ax.set_xlabel("weight \u00d7 valid positions in the row (1 = uniform)")
        else:
            if stats.get("mean") is not None:
                ax.axvline(stats["mean"], color="0.2", linestyle="--", linewidth=1.0,
                           label=f"mean {stats['mean']:.4g}")
                ax.legend(fontsize=8)
            ax.set_xlabel("weight")
        ax.set_ylabel("positions")
        ax.grid(True, axis="y", alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    return _save(fig, path)


# --------------------------------------------------------------------------- markdown helpers


def _cell(value: Any) -> str:
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if text.strip() else " "


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    align = align or ["l"] * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _num(value: Any, fmt: str = ".4f") -> str:
    if value is None:
        return DASH
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "nan"
    return format(number, fmt)


def _count(value: Any) -> str:
    if value is None:
        return DASH
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def _duration(seconds: Any) -> str:
    if seconds is None:
        return DASH
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    whole = int(round(s))
    if whole < 3600:
        return f"{s:.1f} s ({whole // 60} min {whole % 60:02d} s)"
    return f"{s:.1f} s ({whole // 3600} h {whole % 3600 // 60:02d} min)"


def _setting(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, Path):
        return value.as_posix()
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


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
            rows.append([output, split] + [_num(values.get(c)) for c in columns])
    header = ["output", "split"] + [_METRIC_TITLES.get(c, c) for c in columns]
    return _table(header, rows, ["l", "l"] + ["r"] * len(columns))


def _fence(source: str) -> str:
    longest = run = 0
    for ch in source:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{source.rstrip()}\n{ticks}"


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
        return ", ".join(names) if names else DASH
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
            text = f"AUC {_num(values['auc'])}"
            if values.get("logloss") is not None:
                text += f" (logloss {_num(values['logloss'])})"
        elif values.get("logloss") is not None:
            text = f"logloss {_num(values['logloss'])}"
        elif values:
            key = next(iter(values))
            text = f"{key} {_num(values[key])}"
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
        text += f" on {_count(train_rows)} rows"
    if epochs is not None:
        text += f" for {epochs} epoch{'s' if epochs != 1 else ''}"
    if best is not None:
        text += f"; the best epoch was {best}" + (f" of {epochs}" if epochs is not None else "")
    text += "."
    key = _key_metric(metrics)
    if key:
        text += " " + key
    if timing.get("train_seconds") is not None:
        text += f" Training took {_duration(timing['train_seconds'])}"
        if timing.get("samples_per_sec") is not None:
            text += f" at {_count(round(float(timing['samples_per_sec'])))} samples/s"
        text += "."
    fixes = data.get("fixes") or []
    if fixes:
        text += f" {len(fixes)} data fix{'es were' if len(fixes) != 1 else ' was'} applied (see Data)."
    if attention:
        flagged = [name for name, stats in attention.items() if _warnings_of(stats)]
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
        rows.append([split, _files_cell(info.get("files") or []), _count(info.get("rows"))]
                    + [_num(rates.get(o)) for o in outputs])
    lines = ["## Data", ""]
    lines += [_table(header, rows, ["l", "l", "r"] + ["r"] * len(outputs)), ""]
    fixes = data.get("fixes") or []
    if fixes:
        lines += ["Rows fixed or dropped while loading:", ""]
        fix_rows = [[f.get("split", DASH), f"`{f['column']}`" if f.get("column") else DASH,
                     f.get("what", DASH), _count(f.get("rows"))] for f in fixes]
        lines += [_table(["split", "column", "what", "rows"], fix_rows, ["l", "l", "l", "r"]), ""]
    else:
        lines += ["No rows were fixed or dropped.", ""]
    return lines


def _training_section(timing: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    lines = ["## Training", ""]
    known = ("epochs", "best_epoch", "train_seconds", "samples_per_sec", "build_seconds")
    items = [
        ("epochs run", _count(timing.get("epochs"))),
        ("best epoch", _count(timing.get("best_epoch"))),
        ("training time", _duration(timing.get("train_seconds"))),
        ("throughput", f"{_count(round(float(timing['samples_per_sec'])))} samples/s"
         if timing.get("samples_per_sec") is not None else DASH),
        ("model build time", _duration(timing.get("build_seconds"))),
    ]
    items += [(key.replace("_", " "), _setting(value)) for key, value in timing.items() if key not in known]
    lines += [f"- {label}: {value}" for label, value in items]
    lines.append("")
    if config:
        lines += ["Settings:", ""]
        lines += [_table(["setting", "value"], [[f"`{k}`", _setting(v)] for k, v in config.items()]), ""]
    return lines


def _epoch_table(history: Mapping[str, Sequence[float]], best_epoch) -> str | None:
    families = _metric_families(history)
    keys = [k for _, train, valid in families for k in (train, valid) if k is not None]
    if not keys:
        return None
    series = {k: _numeric_series(history[k]) for k in keys}
    length = max(len(s) for s in series.values())
    rows = []
    for i in range(length):
        epoch = f"**{i + 1}** (best)" if best_epoch is not None and i + 1 == best_epoch else str(i + 1)
        rows.append([epoch] + [_num(series[k][i]) if i < len(series[k]) else DASH for k in keys])
    return _table(["epoch"] + keys, rows, ["l"] + ["r"] * len(keys))


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
        value = s.get("uniformity")
        if value is None:
            uniform = DASH
        else:
            short = "entropy" if s.get("uniformity_measure") == "normalised_entropy" else "CV"
            uniform = f"{short} {value:.4f}"
        near = s.get("near_uniform")
        rows.append([
            f"`{name}`", s.get("normalize", DASH),
            f"{_count(s.get('rows_with_history'))} of {_count(s.get('rows'))}",
            _count(s.get("positions")),
            *(_num(s.get(k), ".4g") for k in ("mean", "std", "p5", "p50", "p95")),
            uniform, DASH if near is None else ("**yes**" if near else "no"),
        ])
    lines += [_table(header, rows, ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "l"]), ""]
    for name, s in attention.items():
        prefix = "" if s.get("pool") == name else f"`{name}`: "
        for text in _warnings_of(s):
            lines += [f"> **Warning:** {prefix}{text}", ""]
    if image:
        lines += [f"![attention weight histograms]({image})", ""]
    return lines


def write_report(run_dir, *, spec_name: str, spec_path, spec_source: str,
                 data: Mapping[str, Any], metrics: Mapping[str, Any],
                 history: Mapping[str, Sequence[float]],
                 attention: Mapping[str, Mapping[str, Any]],
                 timing: Mapping[str, Any], config: Mapping[str, Any],
                 diagram=None) -> Path:
    """Write run_dir/report.md, run_dir/curves.png and (when attention is non-empty)
    run_dir/attention.png; returns the path of report.md.

    data: {"train": {"files": [...], "rows": int, "label_rate": {output: rate}}, "valid": {...},
    "test": {...} (optional), "fixes": [{"split", "column", "what", "rows"}, ...]}.
    metrics: {split: {output: {"auc": .., "logloss": ..}}} ("test" optional).
    history: Keras History.history. attention: {pool: attention_stats(...)}.
    timing: {"epochs", "best_epoch", "train_seconds", "samples_per_sec", "build_seconds"}.
    config: run settings, shown in insertion order. diagram: optional path of the architecture
    drawing (in run_dir, linked relative to it).

    Sections: title, summary paragraph, Spec, Data, Metrics, Training, Learning curves, Attention
    diagnostics. The text depends only on the inputs (no dates, no absolute run_dir paths)."""
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

    lines = [f"# Training report: {spec_name}", "", _summary(spec_name, data, metrics, timing, attention), ""]

    lines += ["## Spec", ""]
    if spec_path is not None:
        lines += [f"`{Path(spec_path).as_posix()}`", ""]
    lines += [_fence(spec_source or ""), ""]
    if diagram is not None:
        link = _relative(diagram, run_dir)
        lines += [f"Architecture diagram: [{link}]({link})", "", f"![architecture of {spec_name}]({link})", ""]

    lines += _data_section(data)

    lines += ["## Metrics", ""]
    lines += [format_metrics_table(metrics) if metrics else "No metrics were computed.", ""]

    lines += _training_section(timing, config)

    lines += ["## Learning curves", "", "![learning curves](curves.png)", ""]
    epochs = _epoch_table(history, best)
    if epochs:
        lines += [epochs, ""]

    lines += _attention_section(attention, attention_image)

    text = "\n".join(lines).rstrip() + "\n"
    path = run_dir / "report.md"
    path.write_text(text, encoding="utf-8")
    return path
