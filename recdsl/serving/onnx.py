"""A run (or build) folder's model -> ONNX, for the preprocessed inputs (tf2onnx).

What is in the ONNX graph: the Keras model of model.keras, from its own inputs to its scores:
embedding lookups, pools, attention, MLPs and heads. Inputs are named after the model's inputs
and are what `recdsl.load_run(RUN).inputs(rows)` returns: int32 embedding rows ([B] for id and
category features, [B, max_len] for lists, padded with row 0), float32 normalised numeric values.
Outputs: {output name: float32 [B]}, the scores `recdsl predict` writes.

What is not: the preprocessing (vocabulary lookups, hashing, normalisation statistics, bucketing,
list truncation and padding). Those are TensorFlow lookup tables and ragged ops that tf2onnx
does not convert (the raw-value SavedModel of `recdsl export` fails in its shape inference), so
they stay in Python: `LoadedRun.inputs(rows)`, the same code `recdsl predict` runs.
"""
from __future__ import annotations

from pathlib import Path

from recdsl.serving.errors import ExportError, ExportExists

#: the ONNX operator set written (onnxruntime 1.17 and later run it)
OPSET = 17


def export_onnx(run_dir, out_path, *, force: bool = False) -> Path:
    """Write the preprocessed-input model of `run_dir` as ONNX to out_path; returns out_path."""
    run_dir, out_path = Path(run_dir), Path(out_path)
    if out_path.exists() and not force:
        raise ExportExists(f"{out_path} exists", hint="pass --force to replace it, or choose another -o path")
    if not (run_dir / "model.keras").is_file():
        raise ExportError(f"{run_dir} holds no model.keras",
                          hint="pass the -o folder of a finished `recdsl train` (or of `recdsl build`)")
    try:
        import tf2onnx
    except ImportError:
        raise ExportError("ONNX export needs tf2onnx", hint="pip install tf2onnx (and onnxruntime to run the model)") \
            from None
    import keras
    import tensorflow as tf

    from recdsl.serving.savedmodel import _scores_fn, input_signature, register_layers
    from recdsl.serving.signature import build_signature_rows
    from recdsl.training.atomic import atomic_path

    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"ONNX export needs the TensorFlow backend of Keras (this is {keras.backend.backend()!r})",
                          hint="run it with KERAS_BACKEND=tensorflow")
    register_layers()
    model = keras.saving.load_model(run_dir / "model.keras", compile=False)
    rows = build_signature_rows(run_dir)
    signature = input_signature(rows)
    scores = tf.function(_scores_fn(model, [r["name"] for r in rows if r["role"] == "output"]))
    specs = list(signature.values())

    def flat(*tensors):
        return scores(dict(zip(signature, tensors)))

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_path) as tmp:
        tf2onnx.convert.from_function(tf.function(flat, input_signature=specs), input_signature=specs, opset=OPSET,
                                      output_path=str(tmp))
    return out_path
