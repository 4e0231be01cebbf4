import numpy as np
import pytest

from recdsl.layers.senet import SENetGate
from recdsl.ops.types import StackType

from . import reference as ref
from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, to_numpy, weight

B, F, D = 5, 6, 3


def senet_reference(layer, x):
    shared = layer.granularity == "dim_shared"
    along = x.transpose(0, 2, 1) if shared else x          # [B, excited, squeezed]
    if layer.squeeze_mode == "dense":
        z = along @ weight(layer.pool.kernel)[:, 0] + weight(layer.pool.bias)[0]
    else:
        z = along.mean(-1)
    a = 1 / (1 + np.exp(-ref.dense(layer.excite, np.maximum(ref.dense(layer.squeeze, z), 0))))
    if layer.granularity == "dim":
        return x * a.reshape(x.shape)
    return x * (a[:, None, :] if shared else a[..., None])


@pytest.mark.parametrize("kwargs", [dict(), dict(reduction=2, granularity="dim"), dict(reduction=10),
                                    dict(granularity="dim_shared", reduction=2),
                                    dict(granularity="dim_shared", squeeze="dense"),
                                    dict(squeeze="dense", reduction=2), dict(granularity="dim", squeeze="dense")])
def test_matches_numpy(kwargs, tmp_path):
    x = rng(1).normal(size=(B, F, D)).astype("float32")
    layer = SENetGate(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2)
    params = registry_count("senet", {"fields": StackType(F, D)}, kwargs)
    out = check_layer(layer, x, params=params, tmp_path=tmp_path)
    assert_close(out, senet_reference(layer, x.astype("float64")))
    assert layer.squeeze.units == max(1, (D if layer.granularity == "dim_shared" else F) // layer.reduction)


def test_dim_shared_gives_one_weight_per_dimension_for_every_field():
    x = rng(4).normal(size=(B, F, D)).astype("float32")
    layer = SENetGate(granularity="dim_shared", reduction=1)
    ratio = to_numpy(layer(x)) / x
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :1, :], ratio.shape), rtol=1e-5)


def test_mixed_precision():
    x = rng(3).normal(size=(B, F, D)).astype("float32")
    for granularity in ("field", "dim", "dim_shared"):
        check_mixed(lambda dtype: SENetGate(granularity=granularity, dtype=dtype), x)
