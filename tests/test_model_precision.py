"""Every bundled spec compiled under a global mixed-precision policy.

With `keras.config.set_dtype_policy("mixed_float16")` (or "mixed_bfloat16") before
`emit`, every layer the emitter creates computes in float16 (bfloat16) with float32
variables, except the prediction heads, which compute in float32 (recdsl/layers/head.py),
so the model's outputs are float32. Predictions on inputs with fully padded rows
(sequence and multi-valued inputs all 0 = padding) are finite and close to the float32
model's with the same weights, and one Adam step on a binary cross-entropy per output
gives a finite loss and finite weights. For "mixed_float16", Keras' `Model.compile`
wraps the optimizer in a `LossScaleOptimizer` itself (auto_scale_loss=True, keyed on
the model's policy); bfloat16 has float32's exponent range and is not loss-scaled.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import recdsl  # noqa: E402
from recdsl.data.schema import schema_of  # noqa: E402
from recdsl.emitter import emit  # noqa: E402
from recdsl.layers.attention_output import AttentionWeightsOutput  # noqa: E402
from recdsl.layers.head import PredictionHead  # noqa: E402

SPECS = sorted((Path(__file__).resolve().parent.parent / "specs").glob("*.rec"))
POLICIES = ("mixed_float16", "mixed_bfloat16")
ROWS = 8
#: max |p_mixed - p_float32| over the output probabilities, same weights and inputs
#: (measured: below 1e-3 for float16 and 5e-3 for bfloat16 on every spec).
TOLERANCE = {"mixed_float16": 5e-3, "mixed_bfloat16": 3e-2}
#: One spec also takes its training step as a compiled graph (tf.function under
#: TensorFlow); the others train eagerly, which costs a fraction of a second where
#: tracing costs seconds. No XLA here: XLA-compiling a mixed-precision train step takes
#: 5-50 s per spec on a CPU runner (and jit_compile is torch.compile under PyTorch).
GRAPH_SPECS = {"din"}
#: JAX runs a step eagerly op by op, compiling each op for its shapes, which costs more than one
#: XLA compilation of the whole step (jax.jit): under JAX every spec takes the compiled step, as
#: `recdsl train` does.
JAX = keras.backend.backend() == "jax"


def padded_inputs(spec, model, rows: int, seed: int) -> dict:
    """Random inputs; sequence and multi-valued inputs have random valid prefixes, rows 0 and 1
    are fully padded (all 0) and row 2 is full. Ids are < 4 (every table has >= 4 rows)."""
    r = np.random.default_rng(seed)
    bags = {n.name for n in spec.nodes if n.op in ("multi", "sequence")}
    batch = {}
    for name, tensor in model.input.items():
        shape = (rows,) + tuple(tensor.shape[1:])
        if name in bags:
            length = shape[1]
            lengths = r.integers(0, length + 1, size=rows)
            lengths[:2], lengths[2] = 0, length
            ids = r.integers(1, 4, size=shape)
            ids[np.arange(length)[None, :] >= lengths[:, None]] = 0
            batch[name] = ids.astype("int32")
        elif "int" in str(tensor.dtype):
            batch[name] = r.integers(0, 4, size=shape).astype("int32")
        else:
            batch[name] = r.normal(size=shape).astype("float32")
    return batch


def numpy_outputs(outputs) -> dict:
    return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}


@pytest.fixture(scope="module", params=[(s, p) for p in POLICIES for s in SPECS],
                ids=lambda sp: f"{sp[0].stem}-{sp[1]}")
def mixed(request):
    """(spec, policy, model built under the global policy, float32 model with the same weights).

    The policy stays set while this model's tests run and is restored to float32 after."""
    path, policy = request.param
    spec = recdsl.typecheck(path)
    keras.config.set_dtype_policy("float32")
    reference = emit(spec)
    keras.config.set_dtype_policy(policy)
    try:
        model = emit(spec)
        model.set_weights(reference.get_weights())
        yield spec, policy, model, reference
    finally:
        keras.config.set_dtype_policy("float32")


def test_layers_follow_the_global_policy_and_heads_stay_float32(mixed):
    spec, policy, model, _ = mixed
    assert model.dtype_policy.name == policy
    heads = [layer for layer in model.layers if isinstance(layer, PredictionHead)]
    weights = {layer.name for layer in model.layers if isinstance(layer, AttentionWeightsOutput)}
    assert {h.name for h in heads} == {o.name for o in spec.outputs} - weights
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, (PredictionHead, AttentionWeightsOutput)):  # float32 outputs
            assert layer.compute_dtype == "float32", layer.name
            assert all(sub.compute_dtype == "float32" for sub in layer._flatten_layers()), layer.name
        else:
            assert layer.dtype_policy.name == policy, (layer.name, layer.dtype_policy.name)
            # sublayers (Dense, BatchNormalization, Dice, MultiHeadAttention...) inherit it
            for sub in layer._flatten_layers(include_self=False):
                assert sub.dtype_policy.name == policy, (layer.name, sub.name, sub.dtype_policy.name)
    assert all(w.dtype == "float32" for w in model.weights)


def test_predictions_are_finite_float32_and_match_the_float32_model(mixed):
    spec, policy, model, reference = mixed
    x = padded_inputs(spec, model, ROWS, seed=1)
    got = model(x, training=False)
    assert set(got) == {o.name for o in spec.outputs}
    for name, scores in got.items():
        assert keras.backend.standardize_dtype(scores.dtype) == "float32", name
        assert tuple(scores.shape) == (ROWS, spec.node(name).type.width)  # [B, L] attention weights
    got, want = numpy_outputs(got), numpy_outputs(reference(x, training=False))
    for name in got:
        assert np.all(np.isfinite(got[name])), name
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=TOLERANCE[policy], err_msg=name)


def test_one_training_step_gives_a_finite_loss(mixed):
    spec, policy, model, _ = mixed
    if JAX and policy == "mixed_float16":
        pytest.skip("recdsl refuses mixed_float16 under JAX on CPU (compilation.check_precision)")
    x = padded_inputs(spec, model, ROWS, seed=2)
    r = np.random.default_rng(3)
    trained = [spec.node(lab.output) for lab in schema_of(spec).labels]  # not the served-only outputs
    y = {o.name: r.integers(0, 2, size=(ROWS, 1)).astype("float32") for o in trained}
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={o.name: "binary_crossentropy" for o in trained},
                  loss_weights={o.name: o.arg("weight") for o in trained},
                  run_eagerly=not JAX and Path(spec.file).stem not in GRAPH_SPECS,
                  jit_compile=JAX)
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["loss"] > 0, logs
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert all(np.all(np.isfinite(w)) for w in after)
    if not scaled:
        # a loss-scaled first step may be skipped (the scale starts at 2**15 and halves on
        # overflow); an unscaled one always moves the weights
        assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    for scores in numpy_outputs(model(x, training=False)).values():
        assert np.all(np.isfinite(scores))
