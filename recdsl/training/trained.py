"""A finished run opened for scoring rows in Python (`recdsl.load_run`): a notebook or a serving
script gives raw rows and gets the scores `recdsl predict` would write for them."""
from __future__ import annotations

from dataclasses import fields

import numpy as np

from recdsl.training.runs import LoadedRun, load_run
from recdsl.training.scoring import predict_rows


class TrainedRun(LoadedRun):
    """LoadedRun (model, pre, info, inputs(rows)) with predict(rows)."""

    def predict(self, rows, *, missing: str | None = None, batch_size: int | None = None) -> dict:
        """Scores of raw rows (a list of dicts or a dict of columns, as `inputs` takes them):
        {output name: float64 array, one score per row}, the numbers `recdsl predict` writes."""
        inputs = self.inputs(rows, missing=missing)
        raw = predict_rows(self.model, inputs, batch_size or self.setting("eval_batch_size", 8192))
        return {k: np.asarray(v, dtype="float64").reshape(-1) for k, v in raw.items()}


def open_run(run_dir) -> TrainedRun:
    """The finished run in run_dir, ready to score rows (raises RunError for any other folder)."""
    loaded = load_run(run_dir)
    return TrainedRun(**{f.name: getattr(loaded, f.name) for f in fields(LoadedRun)})
