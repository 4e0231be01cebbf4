import numpy as np
import pytest

from recdsl.layers.bilinear import BilinearInteraction
from recdsl.ops.types import StackType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight

B, F, D = 5, 4, 3


def bilinear_reference(kind, kernel, v):
    out, pair = [], 0
    for i in range(v.shape[1]):
        for j in range(i + 1, v.shape[1]):
            w = kernel[{"field_all": 0, "field_each": i, "field_interaction": pair}[kind]]
            out.append((v[:, i] @ w) * v[:, j])
            pair += 1
    return np.stack(out, axis=1)


@pytest.mark.parametrize("kind", ["field_all", "field_each", "field_interaction"])
def test_matches_numpy(kind, tmp_path):
    v = rng(1).normal(size=(B, F, D)).astype("float32")
    layer = BilinearInteraction(type=kind)
    layer.build(v.shape)
    randomize(layer, 2)
    params = registry_count("bilinear", {"fields": StackType(F, D)}, {"type": kind})
    out = check_layer(layer, v, params=params, tmp_path=tmp_path)
    assert out.shape == (B, F * (F - 1) // 2, D)
    assert_close(out, bilinear_reference(kind, weight(layer.kernel), v.astype("float64")))


def test_needs_two_fields():
    with pytest.raises(ValueError, match="two fields"):
        BilinearInteraction()(np.zeros((2, 1, 3), "float32"))


def test_mixed_precision():
    v = rng(3).normal(size=(B, F, D)).astype("float32")
    for kind in ("field_all", "field_each", "field_interaction"):
        check_mixed(lambda dtype: BilinearInteraction(type=kind, dtype=dtype), v)
