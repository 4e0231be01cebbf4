"""The zoo tests' one check of a spec (tests/test_zoo.py, tests/test_zoo_multitask.py): it checks
without warnings, builds with the checker's parameter count, trains a few full-batch eager steps
through recdsl's own compile with a falling loss, saves and reloads to identical predictions, and
exports a raw-input SavedModel whose scores match the model's for every output."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import recdsl

SERVED = 16


def raw_feed(pre, table, rows: int) -> dict:
    """The SavedModel's raw inputs for the first `rows` rows: one value per row, list columns as
    their values concatenated plus row lengths."""
    feed = {}
    for col in pre.schema.columns:
        values = table.column(col.column).to_pylist()[:rows]
        dtype = "str" if pre.raw_dtype(col) == "string" else pre.raw_dtype(col)
        if col.is_list:
            feed[col.feature] = np.asarray([v for row in values for v in row], dtype=dtype)
            feed[col.feature + "_lengths"] = np.asarray([len(row) for row in values], dtype="int64")
        else:
            feed[col.feature] = np.asarray([str(v) if dtype == "str" else v for v in values], dtype=dtype)
    return feed


def trains_saves_reloads_and_exports(path: Path, parquet: Path, table, tmp_path: Path, *,
                                     learning_rate: float, steps: int, min_drop: float) -> None:
    import keras
    import tensorflow as tf

    from recdsl.data import source
    from recdsl.data.errors import FixLog
    from recdsl.data.pipeline import Split
    from recdsl.data.preprocess import Preprocessor
    from recdsl.data.schema import schema_of
    from recdsl.emitter import emit
    from recdsl.layers import load_model
    from recdsl.serving.savedmodel import export
    from recdsl.training.compilation import compile_model
    from recdsl.training.config import RunConfig

    spec = recdsl.typecheck(path)
    assert not spec.warnings, [w.message for w in spec.warnings]
    schema = schema_of(spec)
    missing = sorted({lab.column for lab in schema.labels} - set(table.column_names))
    assert not missing, f"give the click log a {missing} column"
    pre = Preprocessor.fit(source.read([parquet], schema, FixLog("train")), schema)
    split = Split("train", [parquet], pre).load()

    keras.utils.set_random_seed(7)
    model = emit(spec)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == spec.total_params
    compile_model(model, schema.labels, RunConfig(learning_rate=learning_rate), keras, jit=False)
    model.run_eagerly = True  # a few steps: tracing would cost more than they do
    losses = [float(model.train_on_batch(split.inputs, split.targets, return_dict=True)["loss"])
              for _ in range(steps)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] - min_drop, losses

    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model.keras")
    pre.save(run / "preprocessing.json")
    scores = {k: keras.ops.convert_to_numpy(v)[:, 0] for k, v in model(split.inputs, training=False).items()}
    reloaded = load_model(run / "model.keras")
    for name, again in reloaded(split.inputs, training=False).items():
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(again)[:, 0], scores[name], err_msg=name)

    saved = export(run, tmp_path / "saved" / "1")
    serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
    served = serve(**{k: tf.constant(v) for k, v in raw_feed(pre, table, SERVED).items()})
    assert set(served) == set(scores) == {lab.output for lab in schema.labels} == {n.name for n in spec.outputs}
    for name, values in served.items():
        assert values.shape == (SERVED,)
        np.testing.assert_allclose(values.numpy(), scores[name][:SERVED], rtol=0, atol=1e-5, err_msg=name)
