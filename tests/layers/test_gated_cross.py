import numpy as np
import pytest

from recdsl.layers.cross import CrossNetwork
from recdsl.layers.gated_cross import GatedCross
from recdsl.ops.types import VectorType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight


def gated_cross_reference(layer, x0):
    x = x0
    for w, g, b in zip(layer.kernels, layer.gates, layer.biases):
        w, g, b = weight(w), weight(g), weight(b)
        cross = np.einsum("ij,bj->bi", w, x) + b
        gate = 1 / (1 + np.exp(-np.einsum("ij,bj->bi", g, x)))
        x = x0 * cross * gate + x
    return x


@pytest.mark.parametrize("shape, layers", [((6, 5), 3), ((1, 4), 1), ((3, 1), 2)])
def test_matches_numpy(shape, layers, tmp_path):
    x = rng(1).normal(size=shape).astype("float32")
    layer = GatedCross(layers=layers)
    layer.build(x.shape)
    randomize(layer, 2, scale=0.4)
    params = registry_count("gated_cross", {"x": VectorType(shape[1])}, {"layers": layers})
    assert params == layers * (2 * shape[1] ** 2 + shape[1])
    out = check_layer(layer, x, params=params, tmp_path=tmp_path)
    assert_close(out, gated_cross_reference(layer, x.astype("float64")))


def test_an_open_half_gate_is_dcn_v2_at_half_weight():
    """W_g = 0 gives sigmoid(0) = 1/2 everywhere: the layer is DCN-v2's cross with W/2 and b/2."""
    x = rng(4).normal(size=(3, 4)).astype("float32")
    layer, dcn = GatedCross(layers=2), CrossNetwork(layers=2)
    layer.build(x.shape)
    dcn.build(x.shape)
    randomize(layer, 5)
    for gate in layer.gates:
        gate.assign(np.zeros(gate.shape, "float32"))
    dcn.set_weights([w / 2 for pair in zip(layer.get_weights()[0::3], layer.get_weights()[2::3]) for w in pair])
    assert_close(layer(x), dcn(x))


def test_mixed_precision():
    x = rng(3).normal(size=(4, 6)).astype("float32")
    check_mixed(lambda dtype: GatedCross(layers=2, dtype=dtype), x)
