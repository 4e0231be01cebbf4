"""A run (or build) folder -> a TensorFlow SavedModel with the signature recdsl.serving.signature
describes. Needs Keras on the TensorFlow backend; imports both only when called.

Why two tensors per list and not a tf.RaggedTensor: a SavedModel signature (what
TF Serving and `loaded.signatures[...]` call) holds plain tensors only. With TF 2.21 and
Keras 3, `ExportArchive.add_endpoint` refuses a tf.RaggedTensorSpec in `input_signature`,
and a tf.function saved with one gets a signature with the ragged tensor's components
under generated names (`inputs`, `inputs_1` = row_splits) that no longer accepts a
RaggedTensor. So the flat values and the row lengths are explicit inputs, and the
function rebuilds the ragged tensor (RaggedTensor.from_row_lengths, validated).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from recdsl.data.keys import length_key, missing_key
from recdsl.serving.errors import ExportError, ExportExists
from recdsl.serving.signature import LENGTHS_SUFFIX, SIGNATURE, build_signature_rows, folder_kind, raw_signature_rows

INFO_FILE = "assets.extra/recdsl_signature.json"  # the describe() rows, for clients (ignored by TF Serving)


def export(run_dir, out_dir, *, force: bool = False) -> Path:
    """Write a SavedModel of the run (or build folder) to out_dir; returns out_dir."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    kind = folder_kind(run_dir)
    _check_output(run_dir, out_dir, force)
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"export needs the TensorFlow backend of Keras (this is {keras.backend.backend()!r})",
                          hint="run it with KERAS_BACKEND=tensorflow")
    register_layers()
    if kind == "run":
        from recdsl.training.runs import load_run

        run = load_run(run_dir)
        rows = raw_signature_rows(run.pre)
        archive = _raw_archive(run.model, run.pre)
    else:
        model = keras.saving.load_model(run_dir / "model.keras", compile=False)
        rows = build_signature_rows(run_dir)
        archive = _build_archive(model, rows)
    _write(archive, {"source": kind, "signature": SIGNATURE, "rows": rows}, out_dir)
    return out_dir


def _write(archive, info: dict, out_dir: Path) -> None:
    """Write the SavedModel and INFO_FILE beside, then put them in place of out_dir."""
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        archive.write_out(str(tmp), verbose=False)
        (tmp / INFO_FILE).parent.mkdir(parents=True, exist_ok=True)
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def register_layers() -> None:
    """Register recdsl's layer classes so model.keras deserialises in a fresh process."""
    from recdsl.layers import register_all

    register_all()


def _check_output(run_dir: Path, out_dir: Path, force: bool) -> None:
    src, dst = run_dir.resolve(), out_dir.resolve()
    if dst == src or dst in src.parents:
        raise ExportError(f"the output {out_dir} would replace the folder being exported",
                          hint="choose another -o folder (default: RUN/serving/1)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportExists(f"{out_dir} exists and is not a folder")
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise ExportExists(f"output folder {str(out_dir)!r} is not empty",
                           hint="pass --force to replace it, or choose another -o folder")


def _tf_dtype(name: str):
    import tensorflow as tf

    return {"int64": tf.int64, "int32": tf.int32, "string": tf.string, "float32": tf.float32}[name]


def input_signature(rows: list[dict]) -> dict:
    """{input name: tf.TensorSpec} of a signature's input rows."""
    import tensorflow as tf

    return {r["name"]: tf.TensorSpec(r["shape"], _tf_dtype(r["dtype"]), name=r["name"])
            for r in rows if r["role"] == "input"}


def newest(values, lengths, max_len: int, pad):
    """Flat list values + row lengths -> ([B, max_len] each row's last max_len values, oldest
    first, padded with `pad` at the end; [B] kept lengths): recdsl.data.columns.pad_newest in
    TensorFlow."""
    import tensorflow as tf

    rt = tf.RaggedTensor.from_row_lengths(values, lengths, validate=True)
    lengths = rt.row_lengths()
    kept = tf.minimum(lengths, max_len)
    starts = rt.row_starts() + lengths - kept
    picked = tf.gather(rt.values, tf.ragged.range(starts, starts + kept))
    dense = picked.to_tensor(default_value=pad, shape=[None, max_len])
    return dense, kept


def serving_fn(model, pre):
    """The raw-value serving function: a dict of raw tensors -> {output: float32 [B]}."""
    import tensorflow as tf

    columns = pre.schema.columns
    scores_of = _scores_fn(model, [lab.output for lab in pre.schema.labels] + [o.output for o in pre.schema.served])

    def serve(inputs):
        raw, checks = {}, []
        for col in columns:
            x = inputs[col.feature]
            if col.is_list:
                pad = "" if x.dtype == tf.string else tf.zeros([], x.dtype)
                raw[col.feature], raw[length_key(col.feature)] = newest(
                    x, tf.cast(inputs[col.feature + LENGTHS_SUFFIX], tf.int64), col.max_len, pad)
            elif col.is_numeric:
                raw[col.feature] = tf.reshape(tf.cast(x, tf.float32), [-1, col.size])
                checks.append(_no_infinity(raw[col.feature], col.feature))
            else:
                raw[col.feature] = x
                if x.dtype == tf.string:  # as in training: null or empty -> the OOV row
                    raw[missing_key(col.feature)] = tf.equal(x, "")
        for group in pre.schema.aligned:
            checks += _same_lengths(inputs, group)
        with tf.control_dependencies([c for c in checks if c is not None]):  # None when eager
            return scores_of(pre.transform(raw))

    return serve


def _no_infinity(x, feature: str):
    """Fail the request when a numeric input holds inf or -inf (training refuses them; NaN is
    a missing value). The message names the feature and the first such row (0-based)."""
    import tensorflow as tf

    bad = tf.reduce_any(tf.math.is_inf(x), axis=-1)
    return tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(bad)),
        [f"recdsl: numeric input `{feature}` holds an infinite value (inf or -inf), which training refuses; "
         "send a finite number, or NaN for a missing value. First such row (0-based):",
         tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int32)])


def _same_lengths(inputs, group) -> list:
    """Fail the request when the lists of an aligned group differ in length in a row (as
    training does): one check per feature against the group's first."""
    import tensorflow as tf

    first, *others = group.features
    base = inputs[first + LENGTHS_SUFFIX]
    checks = []
    for other in others:
        lengths = inputs[other + LENGTHS_SUFFIX]
        same = tf.logical_and(tf.equal(tf.size(lengths), tf.size(base)),
                              tf.reduce_all(tf.equal(tf.reshape(lengths, [-1])[:tf.size(base)],
                                                     tf.reshape(base, [-1])[:tf.size(lengths)])))
        checks.append(tf.debugging.Assert(
            same, [f"recdsl: {other}{LENGTHS_SUFFIX} must equal {first}{LENGTHS_SUFFIX} in every row: "
                   f"{first} and {other} are read position by position together ({group.reason}). "
                   f"{first}{LENGTHS_SUFFIX}:", base, f"{other}{LENGTHS_SUFFIX}:", lengths], summarize=20))
    return checks


def _scores_fn(model, outputs: list[str]):
    """model inputs -> {output: float32 [B]}, or [B, L] for an output of L values per row (attention
    weights); a single-output model's tensor is named outputs[0]."""
    import tensorflow as tf

    def scores_of(inputs):
        scores = model(inputs, training=False)
        if not isinstance(scores, dict):
            scores = {outputs[0]: scores}
        return {name: _flat_scores(tf.cast(scores[name], tf.float32)) for name in outputs}

    return scores_of


def _flat_scores(x):
    """[B, 1] -> [B]; [B, L] (L > 1) as it is."""
    import tensorflow as tf

    return tf.reshape(x, [-1]) if x.shape.rank == 1 or x.shape[-1] == 1 else x


def _dummy_batch(signature: dict) -> dict:
    """One row of placeholder values (empty lists), to build the layers before tracing."""
    import tensorflow as tf

    out = {}
    for name, spec in signature.items():
        shape = [1] + [d for d in spec.shape[1:]]
        if spec.dtype == tf.string:
            out[name] = tf.fill(shape, "")
        else:
            out[name] = tf.zeros(shape, spec.dtype)
        if name + LENGTHS_SUFFIX in signature:  # list values: an empty list per row
            out[name] = out[name][:0]
    return out


def _raw_archive(model, pre):
    import keras

    layers = pre.build_layers()
    signature = input_signature(raw_signature_rows(pre))
    serve = serving_fn(model, pre)
    serve(_dummy_batch(signature))  # eager: builds every preprocessing layer outside the traced function
    archive = keras.export.ExportArchive()
    archive.track(model)
    for layer in {id(v): v for v in (x[0] if isinstance(x, tuple) else x for x in layers.values())}.values():
        archive.track(layer)  # lookup tables are resources: tracked so they are saved
    archive.add_endpoint(SIGNATURE, serve, input_signature=[signature])
    return archive


def _build_archive(model, rows: list[dict]):
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, _scores_fn(model, [r["name"] for r in rows if r["role"] == "output"]),
                         input_signature=[input_signature(rows)])
    return archive
