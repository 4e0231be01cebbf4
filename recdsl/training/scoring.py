"""Scoring with a model: the scores and exact metrics of a split, and `recdsl evaluate` and
`recdsl predict` on a finished run folder.

Under a Keras distribution that splits batches across devices (JAX's DataParallel) every batch
must divide among them; `predict_rows` pads the last batch with copies of its last row and drops
their scores, so any number of rows can be scored."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from recdsl.data.errors import DataError
from recdsl.data.pipeline import Split
from recdsl.errors import OutputExists
from recdsl.training.atomic import atomic_path
from recdsl.training.metrics import output_metrics
from recdsl.training.runs import load_run


def batch_shards() -> int:
    """How many parts the active Keras distribution splits a batch into (1 without one)."""
    import keras

    found = keras.distribution.distribution()
    if found is None:
        return 1
    mesh = found.device_mesh
    try:
        return int(mesh.shape[list(mesh.axis_names).index(found.batch_dim_name)])
    except (AttributeError, ValueError):
        return 1


def _pad(inputs: dict, rows: int, shards: int) -> dict:
    """`inputs` with copies of the last row appended up to a multiple of `shards` rows (or of a
    batch's width)."""
    extra = -rows % shards
    if not extra or not rows:
        return inputs
    return {k: np.concatenate([np.asarray(v), np.repeat(np.asarray(v)[-1:], extra, axis=0)]) for k, v in inputs.items()}


def predict_width(batch_size: int) -> int:
    """The rows of every batch a model predicts: batch_size, rounded up to the devices' number."""
    shards = batch_shards()
    return -(-batch_size // shards) * shards


def predict_rows(model, inputs: dict, batch_size: int) -> dict:
    """model.predict of every row of `inputs` (a dict of arrays), whatever the distribution.

    Every batch has the same width (`predict_width`: the last one and a split smaller than a batch
    are padded with copies of the last row, whose scores are dropped), so a model's predict
    function is traced once, not once per batch shape (which also set off TensorFlow's retracing
    warning when a run predicted with several models)."""
    rows = len(next(iter(inputs.values()))) if inputs else 0
    if not rows:
        return model.predict(inputs, batch_size=batch_size, verbose=0)
    width = predict_width(batch_size)
    raw = model.predict(_pad(inputs, rows, width), batch_size=width, verbose=0)
    return {k: np.asarray(v)[:rows] for k, v in raw.items()}


def predict_split(model, split: Split, batch_size: int):
    """Scores and labels of a split, by output ([n] arrays)."""
    if split.inputs is not None:
        raw = predict_rows(model, split.inputs, batch_size)
        labels = split.targets
    else:
        raw, labels = _predict_streamed(model, split, batch_size)
    scores = {k: np.asarray(v, dtype="float64").reshape(-1) for k, v in raw.items()}
    truth = {k: np.asarray(v, dtype="float64").reshape(-1) for k, v in (labels or {}).items()}
    return scores, truth


def _predict_streamed(model, split: Split, batch_size: int):
    """(raw scores, labels) of a split too large to hold, batch by batch."""
    labels_parts: dict[str, list] = {}

    def inputs_only(ds):
        for x, y in ds:
            for k, v in y.items():
                labels_parts.setdefault(k, []).append(np.asarray(v))
            yield x

    raw: dict[str, list] = {}
    width = predict_width(batch_size)
    for x in inputs_only(split.dataset(width, shuffle_buffer=0)):
        rows = len(next(iter(x.values())))
        for k, v in model.predict_on_batch(_pad(x, rows, width)).items():
            raw.setdefault(k, []).append(np.asarray(v)[:rows])
    return ({k: np.concatenate(v) for k, v in raw.items()},
            {k: np.concatenate(v) for k, v in labels_parts.items()})


def split_metrics(model, split: Split, labels, batch_size: int) -> dict:
    """{output: {metric: value}}: each output's exact metrics (its head's) on a split."""
    return scores_metrics(labels, *predict_split(model, split, batch_size))


def scores_metrics(labels, scores: dict, truth: dict) -> dict:
    """{output: {metric: value}} of scores against labels ({output: [n] array} each)."""
    return {lab.output: output_metrics(lab.loss, truth[lab.output], scores[lab.output]) for lab in labels}


def evaluate(run_dir, data_paths, *, missing: str | None = None, batch_size: int = 8192):
    """({output: {metric: value}}, the loaded split) of a finished run on labelled data."""
    run = load_run(run_dir)
    missing = missing or run.setting("missing", "error")
    split = Split("eval", data_paths, run.pre, missing=missing).load()
    if split.rows == 0:
        raise DataError(f"no rows to evaluate in {', '.join(str(p) for p in split.paths)}")
    return split_metrics(run.model, split, run.pre.schema.labels, batch_size), split


def predict(run_dir, data_paths, out_path, *, id_columns=(), missing: str | None = None,
            batch_size: int = 8192, force: bool = False):
    """Write scores (one column per output, served-only outputs included: `score_column`) next to
    the input's id columns, as Parquet or CSV."""
    import pyarrow as pa

    out_path = Path(out_path)
    if out_path.exists() and not force:
        raise OutputExists(f"{out_path} exists", hint="pass --force to replace it")
    run = load_run(run_dir)
    missing = missing or run.setting("missing", "error")
    ids = list(id_columns) or list(run.setting("id_columns", []))
    split = Split("predict", data_paths, run.pre, missing=missing, labels=False, extra_columns=tuple(ids)).load()
    raw = predict_rows(run.model, split.inputs, batch_size) if split.rows else {}
    columns = {name: pa.array(split.extras[name]) if split.rows else pa.array([], pa.string()) for name in ids}
    schema = run.pre.schema
    sizes = {**{lab.output: 1 for lab in schema.labels}, **{o.output: o.size for o in schema.served}}
    for name, size in sizes.items():
        values = np.asarray(raw[name], dtype="float32") if split.rows else np.zeros((0, size), "float32")
        columns[f"{name}_score" if name in columns else name] = score_column(
            values.reshape(len(values), size), csv=out_path.suffix.lower() == ".csv")
    _write_table(pa.table(columns), out_path)
    return out_path, split


def score_column(values: np.ndarray, csv: bool):
    """[n, size] float32 scores as one column: a float32 per row when size is 1; else (attention
    weights [n, L]) a list of L float32 per row in Parquet, and in CSV the text of a JSON list,
    "[0.25, 0.75, 0.0]" (each value the shortest text that reads back as the same float32)."""
    import pyarrow as pa

    if values.shape[1] == 1:
        return pa.array(values.reshape(-1))
    if csv:
        return pa.array(["[" + ", ".join(str(v) for v in row) + "]" for row in values], pa.string())
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])


def _write_table(table, path: Path) -> None:
    """A pyarrow table as CSV (a .csv path) or Parquet, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, tmp)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
