import numpy as np
import pytest

from recdsl.layers.merge import Merge
from recdsl.ops.types import StackType, VectorType

from .layer_check import assert_close, check_layer, check_mixed, registry_count, rng

B = 4


def test_concat_flattens(tmp_path):
    r = rng(1)
    a, b, c = (r.normal(size=s).astype("float32") for s in ((B, 3), (B, 2, 2), (B, 1)))
    params = registry_count("concat", {"x": [VectorType(3), VectorType(4), VectorType(1)]})   # coerced by the checker
    out = check_layer(Merge("concat"), [a, b, c], params=params, tmp_path=tmp_path)
    assert_close(out, np.concatenate([a, b.reshape(B, 4), c], axis=1))


@pytest.mark.parametrize("mode", ["add", "multiply"])
def test_elementwise(mode, tmp_path):
    r = rng(2)
    xs = [r.normal(size=(B, 3, 2)).astype("float32") for _ in range(3)]
    params = registry_count(mode, {"x": [StackType(3, 2)] * 3})
    out = check_layer(Merge(mode), xs, params=params, tmp_path=tmp_path)
    assert_close(out, xs[0] + xs[1] + xs[2] if mode == "add" else xs[0] * xs[1] * xs[2])


def test_unknown_mode():
    with pytest.raises(ValueError):
        Merge("stack")


def test_mixed_precision():
    r = rng(3)
    xs = [r.normal(size=(B, 3)).astype("float32") for _ in range(2)]
    for mode in ("concat", "add", "multiply"):
        check_mixed(lambda dtype: Merge(mode, dtype=dtype), xs)


def test_subtract(tmp_path):
    r = rng(4)
    a, b = (r.normal(size=(B, 3, 2)).astype("float32") for _ in range(2))
    params = registry_count("subtract", {"x": [StackType(3, 2)] * 2})
    out = check_layer(Merge("subtract"), [a, b], params=params, tmp_path=tmp_path)
    assert_close(out, a - b)
    with pytest.raises(ValueError, match="exactly two"):
        Merge("subtract")([a, b, a])
