import numpy as np

from recdsl.layers.poso import PosoGate
from recdsl.ops.types import VectorType

from . import reference as ref
from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, to_numpy

B, N, M = 5, 6, 3


def poso_reference(layer, x, by):
    hidden = np.maximum(ref.dense(layer.hidden, by), 0)
    return x * layer.scale / (1 + np.exp(-ref.dense(layer.gate, hidden)))


def test_matches_numpy(tmp_path):
    r = rng(1)
    x, by = r.normal(size=(B, N)).astype("float32"), r.normal(size=(B, M)).astype("float32")
    layer = PosoGate(units=4, scale=1.5)
    layer.build([x.shape, by.shape])
    randomize(layer, 2)
    params = registry_count("poso", {"x": VectorType(N), "by": VectorType(M)}, {"units": 4, "scale": 1.5})
    out = check_layer(layer, [x, by], params=params, tmp_path=tmp_path)
    assert_close(out, poso_reference(layer, x.astype("float64"), by.astype("float64")))


def test_gate_range_is_zero_to_scale():
    r = rng(3)
    x, by = np.ones((B, N), "float32"), r.normal(size=(B, M)).astype("float32") * 10
    out = to_numpy(PosoGate(units=3, scale=2.0)([x, by]))
    assert np.all(out >= 0) and np.all(out <= 2.0)


def test_mixed_precision():
    r = rng(4)
    x, by = r.normal(size=(B, N)).astype("float32"), r.normal(size=(B, M)).astype("float32")
    check_mixed(lambda dtype: PosoGate(dtype=dtype), [x, by])
