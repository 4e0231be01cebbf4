"""The run's pictures: learning curves (curves.png) and attention weight histograms
(attention.png).

matplotlib is imported inside the functions and used through its object-oriented API with the
Agg canvas (no pyplot, so the process-wide backend is never touched). The inputs are plain
numbers (a History.history dict, attention_stats results), so the pictures can be redrawn from a
saved run without the model; the same inputs give the same pictures.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from recdsl.training.atomic import atomic_path
from recdsl.training.diagnostics import uniformity_text, warnings_of
from recdsl.training.history import metric_families, numeric_series


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
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    return path


PENALTY_KEY = "penalty"  # the epoch's mean regularisation penalty (recdsl.training.runlog)


def curve_panels(history: Mapping[str, Sequence[float]]) -> list[tuple[str, list[tuple[str, list[float]]]]]:
    """The panels of curves.png: [(title, [(series label, values per epoch)])], one per metric
    family (recdsl.training.history.metric_families), train before validation in each. The loss
    panel compares like with like: when the history records the L2 `penalty`, its train series is
    Keras' loss minus the penalty (validation losses never include it) and its title says so."""
    panels = []
    penalty = numeric_series(history.get(PENALTY_KEY, []))
    for base, train_key, valid_key in metric_families(history):
        title, series = base.replace("_", " "), []
        if train_key is not None:
            values = numeric_series(history[train_key])
            label = "train"
            if base == "loss" and penalty:
                values = [v - p for v, p in zip(values, penalty)]
                label, title = "train (without penalty)", "loss, without the L2 penalty"
            elif base == PENALTY_KEY:
                title = "L2 penalty (train, mean per row)"
            series.append((label, values))
        if valid_key is not None:
            series.append(("validation", numeric_series(history[valid_key])))
        panels.append((title, series))
    return panels


def plot_curves(history: Mapping[str, Sequence[float]], path, *, best_epoch: int | None = None) -> Path:
    """Learning curves from a Keras `History.history` dict as one PNG, the panels of
    `curve_panels`: training (solid) against validation (dashed) per epoch, x = epoch from 1 with
    integer ticks. Series present only for validation are drawn alone; a single epoch is drawn
    as points. best_epoch (1-based) adds a dotted vertical line. An empty history gives a
    one-panel PNG that says so. Returns the path written."""
    return _save(curves_figure(history, best_epoch=best_epoch), path)


def curves_figure(history: Mapping[str, Sequence[float]], *, best_epoch: int | None = None):
    """The matplotlib Figure that plot_curves saves."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    panels = curve_panels(history)
    fig, axes = _figure(len(panels))
    if not panels:
        axes[0].text(0.5, 0.5, "no epochs recorded", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_axis_off()
        return fig
    longest = 1
    for ax, (title, series) in zip(axes, panels):
        for label, values in series:
            style, color = ("--", "tab:orange") if label == "validation" else ("-", "tab:blue")
            longest = max(longest, len(values))
            ax.plot(list(range(1, len(values) + 1)), values, linestyle=style, marker="o", markersize=3.5,
                    color=color, label=label)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="0.45", linestyle=":", linewidth=1.1, label=f"best epoch {best_epoch}")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[: len(panels)]:
        ax.set_xlim(0.5, longest + 0.5)
        if longest <= 15:  # MaxNLocator falls back to fractions when there are few integers
            ax.xaxis.set_major_locator(FixedLocator(list(range(1, longest + 1))))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    return fig


def _pool_caption(name: str, stats: Mapping[str, Any]) -> str:
    text = uniformity_text(stats)
    return f"{name} ({stats.get('normalize', '?')}" + (f", {text})" if text else ")")


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
            "about zero" in text for text in warnings_of(stats))
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
