"""`recdsl export`: a trained run -> a TensorFlow SavedModel that takes RAW feature values.

The preprocessing (hashing, vocabulary lookups, normalisation, bucketing, list truncation and
padding) runs inside the exported function, so a server feeds the same values the training
files held. Signature `serving_default`, one input per feature, named after the feature:

    id, category             [B]        string or int64 (the dtype the table was fitted on,
                                        preprocessing.json); a string "" is a missing value
                                        (-> OOV row, as in training); unseen values -> OOV row
    numeric                  [B]        float32 (size 1), or [B, size]; NaN = missing
                                        (-> the training mean, or the OOV bucket)
    multi, sequence          NAME          [N] the values of every row's list, concatenated
                                           row after row, each list oldest first
                             NAME_lengths  [B] int64: how many of those values each row has
                                           (0 = an empty list)

Lists: each row keeps its newest max_len values (the last ones), as `recdsl train` does.
Outputs: {output name: float32 [B]} (one score per row; the model's [B, 1] flattened).

Why two tensors per list and not a tf.RaggedTensor: a SavedModel signature (what
TF Serving and `loaded.signatures[...]` call) holds plain tensors only. With TF 2.21 and
Keras 3, `ExportArchive.add_endpoint` refuses a tf.RaggedTensorSpec in `input_signature`,
and a tf.function saved with one gets a signature with the ragged tensor's components
under generated names (`inputs`, `inputs_1` = row_splits) that no longer accepts a
RaggedTensor. So the flat values and the row lengths are explicit inputs, and the
function rebuilds the ragged tensor (RaggedTensor.from_row_lengths, validated).

A plain `recdsl build` folder (model.keras, no preprocessing.json) exports too, with the
model's own preprocessed inputs (int32 embedding rows, float32 normalised values; see
recdsl/emitter.py); `describe` and the CLI say which of the two a folder gives.
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

from recdsl.data.errors import DataError

LENGTHS_SUFFIX = "_lengths"
SIGNATURE = "serving_default"
INFO_FILE = "assets.extra/recdsl_signature.json"  # the describe() rows, for clients (ignored by TF Serving)


class ExportError(DataError):
    """A folder that cannot be exported, or an output it cannot be written to (like
    recdsl.training.run.RunError; defined here so `describe` never imports Keras)."""


class ExportExists(ExportError):
    """The output folder is not empty and force was not given."""


# --- which folder ---------------------------------------------------------------------------

def folder_kind(run_dir) -> str:
    """The kind of folder: "run" (model.keras + preprocessing.json: raw inputs) or "build"
    (model.keras only: preprocessed inputs)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir} is not a folder",
                          hint="pass the -o folder of `recdsl train` (or of `recdsl build`)")
    if not (run_dir / "model.keras").is_file():
        raise ExportError(f"{run_dir} holds no model.keras",
                          hint="pass the -o folder of a finished `recdsl train` (or of `recdsl build`)")
    return "run" if (run_dir / "preprocessing.json").is_file() else "build"


# --- describing the signature ---------------------------------------------------------------

def describe(run_dir) -> list[dict]:
    """The serving signature of what `export(run_dir)` writes, without writing (or loading
    TensorFlow): one dict per input, then one per output, with keys role ("input" |
    "output"), name, dtype, shape (None = any size), list (True for a list feature's two
    inputs), feature, kind and meaning."""
    run_dir = Path(run_dir)
    if folder_kind(run_dir) == "run":
        from recdsl.data.preprocess import Preprocessor

        return raw_signature_rows(Preprocessor.load(run_dir / "preprocessing.json"))
    return _build_signature_rows(run_dir)


def raw_signature_rows(pre) -> list[dict]:
    """describe() for a fitted Preprocessor (the raw-value signature)."""
    rows = []
    names = {c.feature for c in pre.schema.columns}
    for col in pre.schema.columns:
        dtype = pre.raw_dtype(col)
        base = {"role": "input", "feature": col.feature, "kind": col.kind}
        if col.is_list:
            lengths = col.feature + LENGTHS_SUFFIX
            if lengths in names:
                raise ExportError(f"feature {lengths!r} clashes with the row-lengths input of list feature "
                                  f"{col.feature!r}", hint=f"rename {lengths} in the spec and train again")
            rows.append({**base, "name": col.feature, "dtype": dtype, "shape": [None], "list": True,
                         "meaning": f"every row's list values, concatenated, each list oldest first; the newest "
                                    f"{col.max_len} of a row are used; {_table_text(col, pre)}"})
            rows.append({**base, "name": lengths, "dtype": "int64", "shape": [None], "list": True,
                         "meaning": f"how many values of {col.feature} each row has (0 = empty list)"})
        elif col.is_numeric:
            shape = [None] if col.size == 1 else [None, col.size]
            rows.append({**base, "name": col.feature, "dtype": "float32", "shape": shape, "list": False,
                         "meaning": _numeric_text(col, pre)})
        else:
            missing = '; "" = missing -> OOV row' if dtype == "string" else ""
            rows.append({**base, "name": col.feature, "dtype": dtype, "shape": [None], "list": False,
                         "meaning": f"raw {'id' if col.kind == 'id' else 'value'}, "
                                    f"{_table_text(col, pre)}{missing}"})
    for lab in pre.schema.labels:
        rows.append({"role": "output", "name": lab.output, "dtype": "float32", "shape": [None], "list": False,
                     "feature": None, "kind": lab.loss,
                     "meaning": "probability (sigmoid)" if lab.loss == "binary" else "predicted value"})
    return rows


def _table_text(col, pre) -> str:
    """How a categorical value becomes an embedding row, in a few words."""
    table = col.table
    shared = f" (shares {table.name}'s table)" if table.name != col.feature and "." not in table.name else ""
    if table.op == "id":
        return f"hashed into {table.buckets:,} buckets{shared}"
    if table.vocab is not None:
        return f"vocabulary of {len(table.vocab):,}{shared}, unseen -> OOV row"
    if table.size is not None:
        return f"integer codes 0..{table.size - 1}{shared}, others -> OOV row"
    learned = len(pre.tables[table.name].get("vocabulary", []))
    return f"vocabulary of {learned:,} learned in training{shared}, unseen -> OOV row"


def _numeric_text(col, pre) -> str:
    if col.kind == "bucket":
        return f"raw value, bucketised at {list(col.boundaries)}; NaN = missing -> OOV bucket"
    done = {"standard": "standardised inside (training mean/variance)", "minmax": "min-max scaled inside",
            "log": "log1p(max(x, 0)) inside", "none": "used as is"}[col.normalize]
    return f"raw value{'s' if col.size > 1 else ''}, {done}; NaN = missing -> training mean"


def _build_signature_rows(run_dir: Path) -> list[dict]:
    """The preprocessed-input signature of a build folder, read from model.keras's config
    (and graph.json, when there, for the feature ops)."""
    try:
        with zipfile.ZipFile(run_dir / "model.keras") as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ExportError(f"cannot read {run_dir / 'model.keras'}: {exc}") from None
    ops = {}
    if (run_dir / "graph.json").is_file():
        try:
            graph = json.loads((run_dir / "graph.json").read_text(encoding="utf-8"))
            ops = {n["id"]: n.get("op") for n in graph.get("nodes", [])}
        except (OSError, ValueError):
            ops = {}
    specs = {}
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            specs[layer["config"]["name"]] = layer["config"]
    rows = []
    for name in _names(config["config"]["input_layers"]):
        spec = specs[name]
        shape, dtype, op = list(spec["batch_shape"]), spec["dtype"], ops.get(name)
        if dtype.startswith("float"):
            meaning = "normalised value(s) (the model input; no preprocessing inside)"
        elif len(shape) > 1:
            meaning = "embedding rows, oldest first, 0-padded at the end (0 padding, 1 OOV)"
        elif op == "numeric":
            meaning = "bucket row (1 = missing)"
        else:
            meaning = "embedding row (0 padding, 1 OOV/missing)"
        rows.append({"role": "input", "name": name, "dtype": dtype, "shape": shape, "list": len(shape) > 1,
                     "feature": name, "kind": op, "meaning": meaning})
    for name in _names(config["config"]["output_layers"]):
        op = ops.get(name)
        rows.append({"role": "output", "name": name, "dtype": "float32", "shape": [None], "list": False,
                     "feature": None, "kind": op,
                     "meaning": "probability (sigmoid)" if op == "sigmoid" else "model output"})
    return rows


def _names(layers) -> list[str]:
    """Names of a functional config's input_layers/output_layers (a dict, a list, or one entry)."""
    if isinstance(layers, dict):
        return list(layers)
    if layers and isinstance(layers[0], str):
        return [layers[0]]
    return [entry[0] for entry in layers]


def shape_text(shape, role: str = "input", is_list: bool = False) -> str:
    dims = ["N" if (is_list and i == 0 and role == "input") else ("B" if i == 0 else str(d if d is not None else "?"))
            for i, d in enumerate(shape)]
    return "[" + ", ".join(dims) + "]"


def format_signature(rows: list[dict], run_dir, kind: str) -> str:
    """The `recdsl export --show` text."""
    head = (f"signature {SIGNATURE!r} of {run_dir}: "
            + ("raw feature values, preprocessing inside" if kind == "run" else
               "PREPROCESSED inputs (a build folder: no preprocessing.json, so no preprocessing inside)"))
    table = [("", "name", "dtype", "shape", "meaning")]
    for r in rows:
        is_values = r["list"] and not r["name"].endswith(LENGTHS_SUFFIX) and kind == "run"
        table.append((r["role"], r["name"], r["dtype"], shape_text(r["shape"], r["role"], is_values), r["meaning"]))
    widths = [max(len(t[i]) for t in table) for i in range(4)]
    lines = [head, ""]
    for i, t in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(t[:4], widths)) + "  " + t[4])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
    notes = ["B = rows in the request."]
    if kind == "run" and any(r["list"] for r in rows):
        notes.append("N = all list values of the request; NAME_lengths must sum to N "
                     "(TF Serving REST: use the columnar \"inputs\" format).")
    return "\n".join(line.rstrip() for line in lines) + "\n\n" + " ".join(notes)


# --- exporting ------------------------------------------------------------------------------

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
        from recdsl.training.run import load_run

        run = load_run(run_dir)
        rows = raw_signature_rows(run.pre)
        archive = _raw_archive(run.model, run.pre)
    else:
        model = keras.saving.load_model(run_dir / "model.keras", compile=False)
        rows = _build_signature_rows(run_dir)
        archive = _build_archive(model, rows)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        archive.write_out(str(tmp), verbose=False)
        (tmp / INFO_FILE).parent.mkdir(parents=True, exist_ok=True)
        (tmp / INFO_FILE).write_text(json.dumps({"source": kind, "signature": SIGNATURE, "rows": rows}, indent=1)
                                     + "\n", encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


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


def raw_input_signature(pre) -> dict:
    """{input name: tf.TensorSpec} of the raw-value serving function."""
    import tensorflow as tf

    return {r["name"]: tf.TensorSpec(r["shape"], _tf_dtype(r["dtype"]), name=r["name"])
            for r in raw_signature_rows(pre) if r["role"] == "input"}


def newest(values, lengths, max_len: int, pad):
    """Flat list values + row lengths -> ([B, max_len] each row's last max_len values, oldest
    first, padded with `pad` at the end; [B] kept lengths): recdsl.data.source.pad_newest in
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
    outputs = [lab.output for lab in pre.schema.labels]

    def serve(inputs):
        raw = {}
        for col in columns:
            x = inputs[col.feature]
            if col.is_list:
                pad = "" if x.dtype == tf.string else tf.zeros([], x.dtype)
                raw[col.feature], raw[f"{col.feature}#len"] = newest(
                    x, tf.cast(inputs[col.feature + LENGTHS_SUFFIX], tf.int64), col.max_len, pad)
            elif col.is_numeric:
                raw[col.feature] = tf.reshape(tf.cast(x, tf.float32), [-1, col.size])
            else:
                raw[col.feature] = x
                if x.dtype == tf.string:  # as in training: null or empty -> the OOV row
                    raw[f"{col.feature}#missing"] = tf.equal(x, "")
        scores = model(pre.transform(raw), training=False)
        if not isinstance(scores, dict):
            scores = {outputs[0]: scores}
        return {name: tf.reshape(tf.cast(scores[name], tf.float32), [-1]) for name in outputs}

    return serve


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
    return out


def _raw_archive(model, pre):
    import keras

    layers = pre.build_layers()
    signature = raw_input_signature(pre)
    serve = serving_fn(model, pre)
    dummy = _dummy_batch(signature)
    for name, spec in signature.items():  # list values: an empty list per row
        if name + LENGTHS_SUFFIX in signature:
            dummy[name] = dummy[name][:0]
    serve(dummy)  # eager: builds every preprocessing layer outside the traced function
    archive = keras.export.ExportArchive()
    archive.track(model)
    for layer in {id(v): v for v in (x[0] if isinstance(x, tuple) else x for x in layers.values())}.values():
        archive.track(layer)  # lookup tables are resources: tracked so they are saved
    archive.add_endpoint(SIGNATURE, serve, input_signature=[signature])
    return archive


def _build_archive(model, rows: list[dict]):
    import keras
    import tensorflow as tf

    signature = {r["name"]: tf.TensorSpec(r["shape"], _tf_dtype(r["dtype"]), name=r["name"])
                 for r in rows if r["role"] == "input"}
    outputs = [r["name"] for r in rows if r["role"] == "output"]

    def serve(inputs):
        scores = model(inputs, training=False)
        if not isinstance(scores, dict):
            scores = {outputs[0]: scores}
        return {name: tf.reshape(tf.cast(scores[name], tf.float32), [-1]) for name in outputs}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, serve, input_signature=[signature])
    return archive
