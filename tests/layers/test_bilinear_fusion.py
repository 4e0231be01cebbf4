import numpy as np
import pytest

from recdsl.layers.bilinear_fusion import BilinearFusion
from recdsl.ops.types import VectorType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight


def fusion_reference(layer, x, y):
    """b + w_x . x + w_y . y + sum_h x_h^T W_h y_h, head by head with explicit slices."""
    heads, w = layer.heads, weight(layer.w_xy)
    n, m = x.shape[1] // heads, y.shape[1] // heads
    z = weight(layer.bias) + x @ weight(layer.w_x) + y @ weight(layer.w_y)
    for h in range(heads):
        xh, yh = x[:, h * n:(h + 1) * n], y[:, h * m:(h + 1) * m]
        z = z + np.einsum("bi,ij,bj->b", xh, w[h], yh)[:, None]
    return z


CASES = [(5, 6, 4, 1), (1, 6, 4, 2), (3, 8, 12, 4), (2, 3, 3, 3)]  # batch, width of x, width of y, heads


@pytest.mark.parametrize("batch, n, m, heads", CASES)
def test_matches_numpy(batch, n, m, heads, tmp_path):
    r = rng(1)
    x, y = r.normal(size=(batch, n)).astype("float32"), r.normal(size=(batch, m)).astype("float32")
    layer = BilinearFusion(heads=heads)
    layer.build([x.shape, y.shape])
    randomize(layer, 2)
    params = registry_count("bilinear_fusion", {"x": VectorType(n), "y": VectorType(m)}, {"heads": heads})
    assert params == 1 + n + m + n * m // heads
    out = check_layer(layer, [x, y], params=params, tmp_path=tmp_path)
    assert_close(out, fusion_reference(layer, x.astype("float64"), y.astype("float64")))


def test_one_head_is_the_full_bilinear_form():
    """heads=1: x^T W y with W [n, m], checked against a dense matrix product."""
    r = rng(3)
    x, y = r.normal(size=(4, 6)).astype("float32"), r.normal(size=(4, 4)).astype("float32")
    layer = BilinearFusion()
    layer.build([x.shape, y.shape])
    randomize(layer, 4)
    x64, y64 = x.astype("float64"), y.astype("float64")
    full = np.sum((x64 @ weight(layer.w_xy)[0]) * y64, axis=1, keepdims=True)
    linear = x64 @ weight(layer.w_x) + y64 @ weight(layer.w_y) + weight(layer.bias)
    assert_close(layer([x, y]), full + linear)


def test_heads_must_divide_both_widths():
    with pytest.raises(ValueError, match=r"heads=4 must divide the width of y \(6\)"):
        BilinearFusion(heads=4).build([(None, 8), (None, 6)])


def test_mixed_precision():
    r = rng(5)
    x, y = r.normal(size=(4, 6)).astype("float32"), r.normal(size=(4, 4)).astype("float32")
    check_mixed(lambda dtype: BilinearFusion(heads=2, dtype=dtype), [x, y])
