"""Exact evaluation metrics in numpy: ROC AUC (ties get their average rank), logloss and RMSE;
which of them an output gets is its head's choice (recdsl.ops.heads)."""
from __future__ import annotations

import numpy as np

from recdsl.ops.heads import head_of

EPS = 1e-7


def auc(labels, scores) -> float:
    """Area under the ROC curve = P(score of a random positive > a random negative), ties 1/2.
    NaN when only one class is present."""
    y = np.asarray(labels, dtype="float64").reshape(-1) >= 0.5
    p = np.asarray(scores, dtype="float64").reshape(-1)
    pos = int(y.sum())
    neg = y.size - pos
    if pos == 0 or neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    ranks = (upper - (counts - 1) / 2.0)[inverse]  # 1-based average rank of each score
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def logloss(labels, scores) -> float:
    y = np.asarray(labels, dtype="float64").reshape(-1)
    p = np.clip(np.asarray(scores, dtype="float64").reshape(-1), EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def rmse(labels, scores) -> float:
    y = np.asarray(labels, dtype="float64").reshape(-1)
    p = np.asarray(scores, dtype="float64").reshape(-1)
    return float(np.sqrt(np.mean((y - p) ** 2)))


METRICS = {"auc": auc, "logloss": logloss, "rmse": rmse}


def output_metrics(head_name: str, labels, scores) -> dict:
    """{metric: value} for each exact metric of the head named `head_name` (a label's `loss`), in the
    head's order: {"auc", "logloss"} for a sigmoid output, {"rmse"} for a linear one."""
    return {name: METRICS[name](labels, scores) for name in head_of(head_name).metrics}
