import keras
import numpy as np
import pytest

from recdsl.layers.mlp import MLPBlock
from recdsl.ops.types import VectorType

from . import reference as ref
from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, to_numpy, weight

B, N, M = 6, 5, 3


def norm_reference(layer, kind, h):
    if kind == "batch":
        mean, var = weight(layer.moving_mean), weight(layer.moving_variance)
    else:
        mean, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
    return (h - mean) / np.sqrt(var + layer.epsilon) * weight(layer.gamma) + weight(layer.beta)


def mlp_reference(layer, x, by=None):
    for i in range(len(layer.units)):
        x = ref.dense(layer.dense[i], x)
        if layer.norms:
            x = norm_reference(layer.norms[i], layer.norm, x)
        x = ref.activation(layer.activations[i], layer.activation, x)
        if layer.gates:
            gate = layer.gates[i]
            hidden = np.maximum(ref.dense(gate.hidden, by), 0)
            x = x * gate.scale / (1 + np.exp(-ref.dense(gate.gate, hidden)))
    return x


CASES = [
    dict(units=[4, 3]),
    dict(units=[4, 2], activation="dice", norm="batch", dropout=0.3),
    dict(units=[3], activation="prelu", norm="layer"),
    dict(units=[4, 3], activation="tanh", gate={"op": "poso", "units": 2, "scale": 2.0, "by": ["user_id"]}),
    dict(units=[2, 2], activation="dice", norm="layer", gate={"op": "poso", "units": 3, "scale": 1.0}),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_matches_numpy(kwargs, tmp_path):
    r = rng(1)
    x, by = r.normal(size=(B, N)).astype("float32"), r.normal(size=(B, M)).astype("float32")
    gated = kwargs.get("gate") is not None
    feed = [x, by] if gated else x
    layer = MLPBlock(**kwargs)
    layer.build([x.shape, by.shape] if gated else x.shape)
    randomize(layer, 2)
    params = registry_count("mlp", {"x": VectorType(N)}, kwargs, context={"gate_by_width": M})
    out = check_layer(layer, feed, params=params, tmp_path=tmp_path)
    assert_close(out, mlp_reference(layer, x.astype("float64"), by.astype("float64")))


def test_dropout_only_in_training():
    x = rng(3).normal(size=(B, N)).astype("float32")
    layer = MLPBlock([8], dropout=0.5)
    assert_close(layer(x), layer(x, training=False))
    assert np.any(to_numpy(layer(x, training=True)) != to_numpy(layer(x)))


def test_rejects_unknown_gate():
    with pytest.raises(ValueError, match="poso"):
        MLPBlock([2], gate={"op": "senet"})


def test_mixed_precision():
    r = rng(4)
    x, by = r.normal(size=(B, N)).astype("float32"), r.normal(size=(B, M)).astype("float32")
    check_mixed(lambda dtype: MLPBlock([4, 3], activation="dice", norm="batch", dtype=dtype), x, training=True)
    check_mixed(lambda dtype: MLPBlock([4], norm="layer", gate={"op": "poso", "units": 2}, dtype=dtype), [x, by])


def test_global_mixed_policy_model():
    keras.config.set_dtype_policy("mixed_float16")
    x = keras.Input((N,))
    y = MLPBlock([4, 3], activation="dice", norm="batch")(x)
    model = keras.Model(x, y)
    out = to_numpy(model(rng(5).normal(size=(B, N)).astype("float32"), training=True))
    assert np.all(np.isfinite(out))
    assert model.layers[-1].compute_dtype == "float16"
