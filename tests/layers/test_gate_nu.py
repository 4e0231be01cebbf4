"""PEPNet's Gate NU (recdsl.layers.gate_nu.GateNU), the gate epnet and ppnet share, on its own:
g = scale * sigmoid(W2 relu(W1 z + b1) + b2) against numpy written out from the four weight
arrays, its parameter count against the registry's rule, its range (0, scale), save/reload."""
import numpy as np
import pytest

from recdsl.layers.gate_nu import GateNU
from recdsl.ops.personalized import gate_nu_params

from .layer_check import assert_close, check_layer, randomize, rng, to_numpy, weight

CASES = [  # batch, prior width, hidden units, gate width, scale
    (4, 5, 3, 6, 2.0),
    (1, 1, 1, 1, 2.0),
    (3, 7, 4, 2, 1.0),
]


@pytest.mark.parametrize("batch, prior, units, width, scale", CASES)
def test_matches_numpy(batch, prior, units, width, scale, tmp_path):
    z = rng(1).normal(size=(batch, prior)).astype("float32")
    layer = GateNU(units, width, scale=scale)
    layer.build(z.shape)
    randomize(layer, 2, scale=1.0)
    out = check_layer(layer, z, params=gate_nu_params(prior, units, width), tmp_path=tmp_path)
    w1, b1 = weight(layer.hidden.kernel), weight(layer.hidden.bias)
    w2, b2 = weight(layer.gate.kernel), weight(layer.gate.bias)
    assert w1.shape == (prior, units) and w2.shape == (units, width)
    hidden = np.maximum(z @ w1 + b1, 0.0)
    assert_close(out, scale / (1.0 + np.exp(-(hidden @ w2 + b2))))
    assert out.shape == (batch, width) and np.all((out > 0) & (out < scale))


def test_a_fresh_gate_is_one_at_scale_two():
    """Zero biases and a zero second kernel give sigmoid(0) = 0.5: with scale 2 the gate starts
    by leaving what it scales unchanged."""
    z = rng(3).normal(size=(2, 4)).astype("float32")
    layer = GateNU(3, 5)
    layer.build(z.shape)
    layer.gate.kernel.assign(np.zeros((3, 5), "float32"))
    assert_close(to_numpy(layer(z)), np.ones((2, 5), "float32"))
