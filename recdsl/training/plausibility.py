"""Results a reviewer should not believe without a second look, in words.

A sigmoid output's result on a split is flagged when:

- its AUC is below 0.5 - AUC_MARGIN: the scores order the examples worse than chance;
- its AUC is within AUC_MARGIN of 0.5: the model ranks no better than chance;
- its logloss is above the constant predictor's, H(p) = -p ln p - (1 - p) ln(1 - p) with p the
  split's positive rate (the train rate when the split's is unknown): the scores carry less
  information than the label rate alone.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

#: how far from 0.5 an AUC must be to count as better (or worse) than chance
AUC_MARGIN = 0.01


def constant_logloss(rate: float) -> float:
    """The logloss of always predicting `rate` on data whose positive rate is `rate`."""
    if not 0.0 < rate < 1.0:
        return 0.0
    return -(rate * math.log(rate) + (1 - rate) * math.log(1 - rate))


def implausible_results(metrics: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """One sentence per implausible metric of the valid and test splits (what, and a likely cause)."""
    found = []
    for split in ("valid", "test"):
        for output, values in (metrics.get(split) or {}).items():
            found += _flags(split, output, values or {}, _rate(data, split, output))
    return found


def _rate(data: Mapping[str, Any], split: str, output: str) -> float | None:
    for name in (split, "train"):
        rate = ((data.get(name) or {}).get("label_rate") or {}).get(output)
        if isinstance(rate, (int, float)) and math.isfinite(rate):
            return float(rate)
    return None


def _flags(split: str, output: str, values: Mapping[str, Any], rate: float | None) -> list[str]:
    where = f"`{output}` on the {split} split"
    out = []
    auc = values.get("auc")
    if isinstance(auc, (int, float)) and math.isfinite(auc):
        if auc < 0.5 - AUC_MARGIN:
            out.append(f"{where}: AUC {auc:.4f} is below 0.5, so the scores order the examples worse than "
                       "chance. Likely causes: the label is inverted or means something else in this split, "
                       "the split comes from another distribution than training (time, users), or the model "
                       "overfitted a small training set (see the learning curves).")
        elif abs(auc - 0.5) <= AUC_MARGIN:
            out.append(f"{where}: AUC {auc:.4f} is at chance (0.5 \u00b1 {AUC_MARGIN:g}): the model ranks no "
                       "better than a coin. Likely causes: features unrelated to the label, too few rows or "
                       "epochs, or a learning rate too low or too high for the model to learn.")
    logloss = values.get("logloss")
    if rate is not None and isinstance(logloss, (int, float)) and math.isfinite(logloss):
        constant = constant_logloss(rate)
        if logloss > constant:
            out.append(f"{where}: logloss {logloss:.4f} is worse than {constant:.4f}, that of always "
                       f"predicting the positive rate {rate:.4f}. Likely causes: overfitting (the validation "
                       "loss rises in the learning curves), a learning rate too high, or a positive rate that "
                       "differs between training and this split.")
    return out
