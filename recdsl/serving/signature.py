"""The serving signature of a run or build folder, described without TensorFlow or Keras.

A run folder (`recdsl train -o RUN`: model.keras + preprocessing.json) exports a function
that takes RAW feature values and runs the preprocessing (hashing, vocabulary lookups,
normalisation, bucketing, list truncation and padding) inside, so a server feeds the same
values the training files held. Signature `serving_default`, one input per feature, named
after the feature:

    id, category             [B]        string or int64 (the dtype the table was fitted on,
                                        preprocessing.json); a string "" is a missing value
                                        (-> OOV row, as in training); unseen values -> OOV row
    numeric                  [B]        float32 (size 1), or [B, size]; NaN = missing
                                        (-> the training mean, or the OOV bucket); inf or
                                        -inf fails the request (training refuses them)
    multi, sequence          NAME          [N] the values of every row's list, concatenated
                                           row after row, each list oldest first
                             NAME_lengths  [B] int64: how many of those values each row has
                                           (0 = an empty list)

Lists: each row keeps its newest max_len values (the last ones), as `recdsl train` does. The
lists of an aligned group (recdsl.data.schema: read position by position together, e.g. the
keys of one din pool) must have equal lengths in every row, or the request fails.
Outputs: {output name: float32 [B]} (one score per row; the model's [B, 1] flattened), and
for an `attention_weights` output float32 [B, L]: the weight of each list position, in the
order the model saw them (a row's newest max_len values, oldest first), 0 at padding.
Served-only outputs (recdsl.data.schema.Served: no label) are served like the others.
Why two tensors per list and not a tf.RaggedTensor: see recdsl.serving.savedmodel.

A plain `recdsl build` folder (model.keras, no preprocessing.json) exports too, with the
model's own preprocessed inputs (int32 embedding rows, float32 normalised values; see
recdsl/emitter.py); `describe` says which of the two a folder gives.

A signature is a list of rows, one dict per input, then one per output, with keys role
("input" | "output"), name, dtype, shape (None = any size), list (True for a list feature's
two inputs), feature, kind and meaning.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from recdsl.ops import load
from recdsl.ops.heads import head_of
from recdsl.serving.errors import ExportError

LENGTHS_SUFFIX = "_lengths"
SIGNATURE = "serving_default"


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


def describe(run_dir) -> list[dict]:
    """The serving signature of what `recdsl.serving.savedmodel.export(run_dir)` writes,
    without writing (or loading TensorFlow)."""
    run_dir = Path(run_dir)
    if folder_kind(run_dir) == "run":
        from recdsl.data.preprocess import Preprocessor

        return raw_signature_rows(Preprocessor.load(run_dir / "preprocessing.json"))
    return build_signature_rows(run_dir)


# --- a run folder: raw feature values ---------------------------------------------------------

def raw_signature_rows(pre) -> list[dict]:
    """describe() for a fitted Preprocessor (the raw-value signature)."""
    names = {c.feature for c in pre.schema.columns}
    rows = []
    for col in pre.schema.columns:
        rows += _raw_input_rows(col, pre, names)
    for lab in pre.schema.labels:
        rows.append({"role": "output", "name": lab.output, "dtype": "float32", "shape": [None], "list": False,
                     "feature": None, "kind": lab.loss, "meaning": head_of(lab.loss).meaning})
    for out in pre.schema.served:
        rows.append({"role": "output", "name": out.output, "dtype": "float32",
                     "shape": [None] if out.size == 1 else [None, out.size], "list": False, "feature": None,
                     "kind": out.op, "meaning": out.meaning})
    return rows


def _raw_input_rows(col, pre, names: set[str]) -> list[dict]:
    """The one input of a column, or the two (values, row lengths) of a list column."""
    dtype = pre.raw_dtype(col)
    base = {"role": "input", "feature": col.feature, "kind": col.kind}
    if col.is_list:
        lengths = col.feature + LENGTHS_SUFFIX
        if lengths in names:
            raise ExportError(f"feature {lengths!r} clashes with the row-lengths input of list feature "
                              f"{col.feature!r}", hint=f"rename {lengths} in the spec and train again")
        return [{**base, "name": col.feature, "dtype": dtype, "shape": [None], "list": True,
                 "meaning": f"every row's list values, concatenated, each list oldest first; the newest "
                            f"{col.max_len} of a row are used; {_table_text(col, pre)}"},
                {**base, "name": lengths, "dtype": "int64", "shape": [None], "list": True,
                 "meaning": f"how many values of {col.feature} each row has (0 = empty list)"
                            + _aligned_text(col.feature, pre.schema)}]
    if col.is_numeric:
        shape = [None] if col.size == 1 else [None, col.size]
        return [{**base, "name": col.feature, "dtype": "float32", "shape": shape, "list": False,
                 "meaning": _numeric_text(col)}]
    missing = '; "" = missing -> OOV row' if dtype == "string" else ""
    return [{**base, "name": col.feature, "dtype": dtype, "shape": [None], "list": False,
             "meaning": f"raw {'id' if col.kind == 'id' else 'value'}, {_table_text(col, pre)}{missing}"}]


def _table_text(col, pre) -> str:
    """How a categorical value becomes an embedding row, in a few words."""
    table = col.table
    shared = f" (shares {table.name}'s table)" if table.name != col.feature and "." not in table.name else ""
    if table.buckets is not None:
        return f"hashed into {table.buckets:,} buckets{shared}"
    if table.vocab is not None:
        return f"vocabulary of {len(table.vocab):,}{shared}, unseen -> OOV row"
    if table.size is not None:
        return f"integer codes 0..{table.size - 1}{shared}, others -> OOV row"
    learned = len(pre.tables[table.name].get("vocabulary", []))
    return f"vocabulary of {learned:,} learned in training{shared}, unseen -> OOV row"


def _aligned_text(feature: str, schema) -> str:
    """For a list of an aligned group: the lengths it must equal, row by row."""
    for group in schema.aligned:
        if feature in group.features and feature != group.features[0]:
            return f"; must equal {group.features[0]}{LENGTHS_SUFFIX} ({group.reason})"
    return ""


def _numeric_text(col) -> str:
    if col.boundaries is not None:
        return f"raw value, bucketised at {list(col.boundaries)}; NaN = missing -> OOV bucket; inf is refused"
    done = {"standard": "standardised inside (training mean/variance)", "minmax": "min-max scaled inside",
            "log": "log1p(max(x, 0)) inside", "none": "used as is"}[col.normalize]
    return f"raw value{'s' if col.size > 1 else ''}, {done}; NaN = missing -> training mean; inf is refused"


# --- a build folder: the model's own inputs ---------------------------------------------------

def build_signature_rows(run_dir: Path) -> list[dict]:
    """The preprocessed-input signature of a build folder, read from model.keras's config
    (and graph.json, when there, for the feature ops)."""
    config = _model_config(run_dir)["config"]
    nodes = _graph_nodes(run_dir)
    specs = {layer["config"]["name"]: layer["config"]
             for layer in config["layers"] if layer["class_name"] == "InputLayer"}
    rows = []
    for name in _names(config["input_layers"]):
        spec, node = specs[name], nodes.get(name, {})
        shape, dtype = list(spec["batch_shape"]), spec["dtype"]
        rows.append({"role": "input", "name": name, "dtype": dtype, "shape": shape, "list": len(shape) > 1,
                     "feature": name, "kind": node.get("op"), "meaning": _input_text(dtype, shape, node)})
    for name in _names(config["output_layers"]):
        op, shape = nodes.get(name, {}).get("op"), nodes.get(name, {}).get("shape") or ["B", 1]
        rows.append({"role": "output", "name": name, "dtype": "float32",
                     "shape": [None] if shape[1:] == [1] else [None] + shape[1:], "list": False,
                     "feature": None, "kind": op, "meaning": _output_text(op)})
    return rows


def _model_config(run_dir: Path) -> dict:
    """model.keras's config.json."""
    try:
        with zipfile.ZipFile(run_dir / "model.keras") as archive:
            return json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ExportError(f"cannot read {run_dir / 'model.keras'}: {exc}") from None


def _graph_nodes(run_dir: Path) -> dict[str, dict]:
    """graph.json's nodes by name ({} when the folder has none or it does not read)."""
    try:
        graph = json.loads((run_dir / "graph.json").read_text(encoding="utf-8"))
        return {n["id"]: n for n in graph.get("nodes", [])}
    except (OSError, ValueError):
        return {}


def _input_text(dtype: str, shape: list, node: dict) -> str:
    if dtype.startswith("float"):
        return "normalised value(s) (the model input; no preprocessing inside)"
    if len(shape) > 1:
        return "embedding rows, oldest first, 0-padded at the end (0 padding, 1 OOV)"
    if node.get("args", {}).get("boundaries") is not None:  # a bucketised numeric, as the emitter reads it
        return "bucket row (1 = missing)"
    return "embedding row (0 padding, 1 OOV/missing)"


def _output_text(op: str | None) -> str:
    """What an output op's values are: its head's meaning for a head with a label range (a
    sigmoid's "probability (sigmoid)"); any other output, or one graph.json does not name,
    reads "model output", as build folders always have."""
    from recdsl.ops.heads import HEADS

    spec = load().get(op) if op else None
    if spec is not None and spec.head is not None and spec.head not in HEADS:  # served only: its op's label
        return spec.label
    head = head_of(spec.head) if spec is not None and spec.head else None
    return head.meaning if head is not None and head.label_range is not None else "model output"


def _names(layers) -> list[str]:
    """Names of a functional config's input_layers/output_layers (a dict, a list, or one entry)."""
    if isinstance(layers, dict):
        return list(layers)
    if layers and isinstance(layers[0], str):
        return [layers[0]]
    return [entry[0] for entry in layers]
