"""The Training and Learning curves sections of report.md: where the time went (compile and
warm-up apart from the steady throughput: recdsl.training.throughput), the run's settings, and
the per-epoch table of the learning curves, train beside validation per metric."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from recdsl.training import markdown as md
from recdsl.training.history import metric_families, numeric_series
from recdsl.training.plots import PENALTY_KEY

#: what the report says about the two kinds of AUC of a run's history
AUC_NOTE = ("Train AUC is Keras' streaming AUC: accumulated over the epoch's batches while the weights "
            "change, from 200 score thresholds, so it is approximate. Validation AUC is exact: computed "
            "with numpy on every validation score at the end of the epoch.")


def throughput_text(timing: Mapping[str, Any]) -> str:
    """"12,345 samples/s (steady: epochs 2-5)", or an em dash."""
    if timing.get("samples_per_sec") is None:
        return md.DASH
    text = f"{md.count(round(float(timing['samples_per_sec'])))} samples/s"
    return text + (f" (steady: {timing['steady']})" if timing.get("steady") else "")


def training_section(timing: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    lines = ["## Training", ""]
    known = ("epochs", "best_epoch", "train_seconds", "samples_per_sec", "build_seconds", "compile_seconds",
             "steady")
    items = [
        ("epochs run", md.count(timing.get("epochs"))),
        ("best epoch", md.count(timing.get("best_epoch"))),
        ("training time", md.duration(timing.get("train_seconds"))
         + (f", of which compile and warm-up about {md.duration(timing['compile_seconds'])} (the first "
            "epoch's time minus a steady epoch's)" if timing.get("compile_seconds") is not None else "")),
        ("throughput", throughput_text(timing)),
        ("model build time", md.duration(timing.get("build_seconds"))),
    ]
    items += [(key.replace("_", " "), md.setting(value)) for key, value in timing.items() if key not in known]
    lines += [f"- {label}: {value}" for label, value in items]
    lines.append("")
    if config:
        lines += ["Settings:", ""]
        lines += [md.table(["setting", "value"], [[f"`{k}`", md.setting(v)] for k, v in config.items()]), ""]
    return lines


def _column_title(role: str, family: str) -> str:
    if family == PENALTY_KEY:
        return "L2 penalty"
    return f"{role} {family.replace('_', ' ')}"


def epoch_table(history: Mapping[str, Sequence[float]], best_epoch) -> str | None:
    """One row per epoch, one column per series: for each metric family train then validation
    (`metric_families` order), each key once."""
    columns = [(_column_title(role, family), key) for family, train, valid in metric_families(history)
               for role, key in (("train", train), ("valid", valid)) if key is not None]
    if not columns:
        return None
    series = {key: numeric_series(history[key]) for _, key in columns}
    length = max(len(s) for s in series.values())
    rows = []
    for i in range(length):
        epoch = f"**{i + 1}** (best)" if best_epoch is not None and i + 1 == best_epoch else str(i + 1)
        rows.append([epoch] + [md.num(series[k][i]) if i < len(series[k]) else md.DASH for _, k in columns])
    return md.table(["epoch"] + [title for title, _ in columns], rows, ["l"] + ["r"] * len(columns))


def curves_section(history: Mapping[str, Sequence[float]], best_epoch) -> list[str]:
    lines = ["## Learning curves", "", "![learning curves](curves.png)", ""]
    table = epoch_table(history, best_epoch)
    if table:
        lines += [table, ""]
    notes = []
    if PENALTY_KEY in history:
        notes.append("Train loss is Keras' loss: the data loss plus the spec's L2 penalty (its own column); the "
                     "curves' loss panel draws the train loss without it, as validation loss never includes it.")
    if any(k.endswith("auc") for k in history):
        notes.append(AUC_NOTE)
    return lines + [" ".join(notes), ""] if notes else lines
