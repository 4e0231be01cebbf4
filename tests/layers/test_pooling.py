import numpy as np
import pytest

from recdsl.layers.pooling import MaskedPool
from recdsl.ops.types import SeqType

from .layer_check import check_layer, check_mixed, lengths_mask, registry_count, rng, to_numpy

B, L, D = 5, 6, 4


def reference(x, mask, mode):
    out = np.zeros((x.shape[0], x.shape[2]))
    for b in range(x.shape[0]):
        rows = x[b][mask[b]]
        if len(rows):
            out[b] = {"sum": rows.sum(0), "avg": rows.mean(0), "max": rows.max(0)}[mode]
    return out


def inputs(seed):
    r = rng(seed)
    x = r.normal(size=(B, L, D)).astype("float32") - 3.0   # all negative-ish: max must not return 0
    return x, lengths_mask([3, 0, 6, 1, 4], L)


@pytest.mark.parametrize("mode", ["sum", "avg", "max"])
def test_matches_numpy(mode, tmp_path):
    x, mask = inputs(1)
    params = registry_count(mode, {"x": SeqType(L, D)})
    out = check_layer(MaskedPool(mode), x, mask=mask, params=params, tmp_path=tmp_path)
    np.testing.assert_allclose(out, reference(x, mask, mode), rtol=1e-5, atol=1e-6)
    assert np.all(out[1] == 0.0)


@pytest.mark.parametrize("mode", ["sum", "avg", "max"])
def test_invariant_to_padding_values_and_order(mode):
    x, mask = inputs(2)
    layer = MaskedPool(mode)
    base = to_numpy(layer(x, mask=mask))
    junk = np.where(mask[..., None], x, rng(3).normal(size=x.shape) * 1e3).astype("float32")
    np.testing.assert_allclose(to_numpy(layer(junk, mask=mask)), base, rtol=1e-6, atol=1e-6)
    shuffled = x.copy()
    for b, n in enumerate(mask.sum(1)):
        shuffled[b, :n] = x[b, rng(4 + b).permutation(n)]
    np.testing.assert_allclose(to_numpy(layer(shuffled, mask=mask)), base, rtol=1e-5, atol=1e-5)


def test_no_mask_and_float_mask():
    x, mask = inputs(5)
    layer = MaskedPool("avg")
    np.testing.assert_allclose(to_numpy(layer(x)), x.mean(1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(layer(x, mask=mask.astype("float32"))),
                               reference(x, mask, "avg"), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["sum", "avg", "max"])
def test_mixed_precision(mode):
    x, mask = inputs(6)
    check_mixed(lambda dtype: MaskedPool(mode, dtype=dtype), x, mask=mask)
