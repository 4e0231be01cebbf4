import numpy as np
import pytest

from recdsl.layers.senet import SENetGate
from recdsl.ops.types import StackType

from . import reference as ref
from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng

B, F, D = 5, 6, 3


def senet_reference(layer, x):
    z = x.mean(-1)
    a = 1 / (1 + np.exp(-ref.dense(layer.excite, np.maximum(ref.dense(layer.squeeze, z), 0))))
    return x * (a.reshape(x.shape) if layer.granularity == "dim" else a[..., None])


@pytest.mark.parametrize("kwargs", [dict(), dict(reduction=2, granularity="dim"), dict(reduction=10)])
def test_matches_numpy(kwargs, tmp_path):
    x = rng(1).normal(size=(B, F, D)).astype("float32")
    layer = SENetGate(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2)
    params = registry_count("senet", {"fields": StackType(F, D)}, kwargs)
    out = check_layer(layer, x, params=params, tmp_path=tmp_path)
    assert_close(out, senet_reference(layer, x.astype("float64")))
    assert layer.squeeze.units == max(1, F // layer.reduction)


def test_mixed_precision():
    x = rng(3).normal(size=(B, F, D)).astype("float32")
    for granularity in ("field", "dim"):
        check_mixed(lambda dtype: SENetGate(granularity=granularity, dtype=dtype), x)
