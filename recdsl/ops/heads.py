"""What an output op means for training, evaluation and serving: its head.

An output op's registry entry names its head; the data schema stores the head's name with
each label (`Label.loss`), and everything downstream (the label check, the Keras loss and
live metrics, the exact metrics, the validation objective, the early-stopping monitor and
the serving description) reads it from here. A new kind of output is a new Head and an
output op that names it; no other module branches on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Head:
    name: str                                   # stored as Label.loss: "binary" | "mse"
    loss: str                                   # the keras.losses class
    live_metrics: tuple[tuple[str, str], ...]   # (keras.metrics class, metric name), shown while fitting
    metrics: tuple[str, ...]                    # exact metrics on valid/test (training.metrics)
    better: dict                                # metric -> "max" | "min" (which way is better)
    objective: Callable[[dict], float]          # exact metrics -> this output's share of val_loss
    meaning: str                                # what the output value is, for the serving signature
    label_range: tuple[float, float] | None = None  # labels must lie in it (both ends included)
    label_hint: str = ""                        # the hint of a label outside label_range

    def monitor(self, metric: str) -> tuple[str, str] | None:
        """(metric, "max"/"min") when this head has `metric`, else None."""
        return (metric, self.better[metric]) if metric in self.metrics else None


HEADS = {head.name: head for head in (
    Head("binary", "BinaryCrossentropy", (("AUC", "auc"), ("BinaryCrossentropy", "logloss")),
         ("auc", "logloss"), {"auc": "max", "logloss": "min"}, lambda m: m["logloss"],
         "probability (sigmoid)", (0.0, 1.0),
         "a sigmoid output needs 0/1 labels (or probabilities); make a 0/1 column, e.g. rating >= 4"),
    Head("mse", "MeanSquaredError", (("RootMeanSquaredError", "rmse"),), ("rmse",), {"rmse": "min"},
         lambda m: m["rmse"] ** 2, "predicted value"),
)}


def head_of(name: str) -> Head:
    """The head a label's `loss` names."""
    return HEADS[name]
