"""A Keras `History.history` dict ({key: [value per epoch]}): its numeric series grouped by metric
family, in the order the report shows them, and the best epoch of the monitored one."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def numeric_series(values) -> list[float] | None:
    """The values as floats, or None when they are not all numbers (or there are none)."""
    try:
        series = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    return series or None


def _family_rank(base: str) -> tuple[int, str]:
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


def metric_families(history: Mapping[str, Sequence[float]]) -> list[tuple[str, str | None, str | None]]:
    """(family, train key, validation key) per metric, in a fixed order: loss, the other losses,
    every *auc, every *logloss, then the rest alphabetically. A train key `m` with no `val_m` is
    paired with the one validation key `val_OUTPUT_m` when there is exactly one: Keras names a
    single-output model's live metrics without the output ("auc"), recdsl's exact validation
    metrics name it ("val_ctr_auc"); the family is then "ctr_auc"."""
    keys = [k for k in history if numeric_series(history[k]) is not None]
    bases: dict[str, dict[str, str]] = {}
    for key in keys:
        base, role = (key[4:], "valid") if key.startswith("val_") else (key, "train")
        bases.setdefault(base, {})[role] = key
    for base in [b for b, roles in bases.items() if set(roles) == {"train"}]:
        partners = [b for b, roles in bases.items() if set(roles) == {"valid"} and b.endswith(f"_{base}")]
        if len(partners) == 1:
            bases[partners[0]]["train"] = bases.pop(base)["train"]
    return [(b, bases[b].get("train"), bases[b].get("valid")) for b in sorted(bases, key=_family_rank)]


def best_epoch(history: Mapping[str, Sequence[float]], monitor: str, mode: str) -> int | None:
    """The 1-based epoch with the best `monitor` value ("max"/"min" mode, NaN ignored); the last
    epoch when the history lacks `monitor`; None when no epoch ran."""
    values = history.get(monitor)
    if not values:
        return len(history.get("loss", [])) or None
    pick = np.nanargmax if mode == "max" else np.nanargmin
    return int(pick(np.asarray(values, dtype="float64"))) + 1
