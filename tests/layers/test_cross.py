import numpy as np
import pytest

from recdsl.layers.cross import CrossNetwork
from recdsl.ops.types import VectorType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight

B, N = 6, 5


def cross_reference(layer, x0):
    x = x0
    for kernel, bias in zip(layer.kernels, layer.biases):
        b = weight(bias)
        if layer.version == "v1":
            x = x0 * (x @ weight(kernel[0]))[:, None] + b + x
        else:
            w = weight(kernel[0]) if len(kernel) == 1 else weight(kernel[0]) @ weight(kernel[1])
            x = x0 * (np.einsum("ij,bj->bi", w, x) + b) + x
    return x


@pytest.mark.parametrize("kwargs", [dict(), dict(layers=3, version="v1"), dict(layers=2, rank=2)])
def test_matches_numpy(kwargs, tmp_path):
    x = rng(1).normal(size=(B, N)).astype("float32")
    layer = CrossNetwork(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2, scale=0.3)
    params = registry_count("cross", {"x": VectorType(N)}, kwargs)
    out = check_layer(layer, x, params=params, tmp_path=tmp_path)
    assert_close(out, cross_reference(layer, x.astype("float64")))


def test_rank_only_for_v2():
    with pytest.raises(ValueError, match="v2"):
        CrossNetwork(version="v1", rank=2)


def test_mixed_precision():
    x = rng(3).normal(size=(B, N)).astype("float32")
    for kwargs in (dict(), dict(version="v1"), dict(rank=2)):
        check_mixed(lambda dtype: CrossNetwork(dtype=dtype, **kwargs), x)
