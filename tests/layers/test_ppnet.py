import numpy as np
import pytest

from recdsl.layers.ppnet import PPNetBlock
from recdsl.ops.types import VectorType

from . import reference as ref
from .layer_check import (
    assert_close,
    central_difference,
    check_layer,
    check_mixed,
    gradients,
    randomize,
    registry_count,
    rng,
)


def ppnet_reference(layer, x, by, x_for_gates=None):
    """h_l = act(W_l h_{l-1} + b_l) * g_l([by, x]) (the gates may read another x: the stop-gradient's constant)."""
    prior = np.concatenate([by, x if x_for_gates is None else x_for_gates], -1)
    h = x
    for dense, act, gate in zip(layer.dense, layer.activations, layer.gates):
        h = ref.activation(act, layer.activation, ref.dense(dense, h)) * ref.gate_nu(gate, prior)
    return h


CASES = [  # batch, width of x, by width, units, gate units, activation, scale
    (4, 6, 3, [5, 3], 4, "relu", 2.0),
    (1, 3, 2, [4], 2, "tanh", 1.0),
    (3, 5, 1, [4, 4, 2], 3, "prelu", 2.0),
]


@pytest.mark.parametrize("batch, width, by_width, units, gate_units, activation, scale", CASES)
def test_matches_numpy(batch, width, by_width, units, gate_units, activation, scale, tmp_path):
    r = rng(1)
    x, by = r.normal(size=(batch, width)).astype("float32"), r.normal(size=(batch, by_width)).astype("float32")
    layer = PPNetBlock(units, gate_units=gate_units, scale=scale, activation=activation)
    layer.build([x.shape, by.shape])
    randomize(layer, 2)
    params = registry_count("ppnet", {"x": VectorType(width), "by": VectorType(by_width)},
                            {"units": units, "gate_units": gate_units, "activation": activation})
    out = check_layer(layer, [x, by], params=params, tmp_path=tmp_path)
    assert_close(out, ppnet_reference(layer, x.astype("float64"), by.astype("float64")))


def test_parameters_by_hand():
    """x 160 wide, prior 32: the MLP 160-256-128-64 and one gate 192 -> 64 -> units_l per layer."""
    mlp = (160 * 256 + 256) + (256 * 128 + 128) + (128 * 64 + 64)
    gates = sum((192 * 64 + 64) + (64 * u + u) for u in (256, 128, 64))
    slots = {"x": VectorType(160), "by": VectorType(32)}
    assert registry_count("ppnet", slots, {"units": [256, 128, 64]}) == mlp + gates


@pytest.mark.parametrize("stop", [True, False])
def test_the_stop_gradient_cuts_the_gate_path(stop):
    """With the stop-gradient, d out / d x goes through the MLP only (the gates read a constant x);
    without it the gates' path adds its part. The prior `by` trains the gates either way."""
    r = rng(3)
    x, by = r.normal(size=(3, 4)).astype("float32"), r.normal(size=(3, 2)).astype("float32")
    c = r.normal(size=(3, 3)).astype("float32")
    layer = PPNetBlock([5, 3], gate_units=4, activation="tanh", stop_gradient=stop)
    layer.build([x.shape, by.shape])
    randomize(layer, 4)
    grad_x, grad_by = gradients(layer, [x, by], c)[:2]
    x64, by64 = x.astype("float64"), by.astype("float64")
    frozen = central_difference(lambda v: np.sum(c * ppnet_reference(layer, v, by64, x_for_gates=x64)), x64)
    full = central_difference(lambda v: np.sum(c * ppnet_reference(layer, v, by64)), x64)
    assert_close(grad_x, frozen if stop else full, rtol=1e-4)
    assert np.max(np.abs(frozen - full)) > 1e-3
    assert_close(grad_by, central_difference(lambda b: np.sum(c * ppnet_reference(layer, x64, b)), by64), rtol=1e-4)


def test_dropout_only_in_training():
    r = rng(5)
    x, by = r.normal(size=(6, 4)).astype("float32"), r.normal(size=(6, 2)).astype("float32")
    layer = PPNetBlock([8], dropout=0.5)
    layer.build([x.shape, by.shape])
    randomize(layer, 6)
    assert_close(layer([x, by], training=False), ppnet_reference(layer, x.astype("float64"), by.astype("float64")))


def test_mixed_precision():
    r = rng(7)
    x, by = r.normal(size=(3, 4)).astype("float32"), r.normal(size=(3, 2)).astype("float32")
    check_mixed(lambda dtype: PPNetBlock([4, 2], gate_units=3, dtype=dtype), [x, by])
