import numpy as np
import pytest

import recdsl
from recdsl.lang.errors import SpecErrors
from recdsl.layers.outer_product import OuterProduct
from recdsl.ops.types import StackType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight


def outer_reference(kind, kernel, v):
    out, pair = [], 0
    for i in range(v.shape[1]):
        for j in range(i + 1, v.shape[1]):
            p, q, w = v[:, i], v[:, j], kernel[pair]
            if kind == "mat":  # <W, p q^T>: the outer product weighted element by element
                out.append(np.einsum("bk,bl,kl->b", p, q, w))
            else:
                out.append(np.sum(p * q * w, axis=-1))
            pair += 1
    return np.stack(out, axis=1)


@pytest.mark.parametrize("kind", ["mat", "vec", "num"])
@pytest.mark.parametrize("shape", [(5, 4, 3), (1, 2, 5)])
def test_matches_numpy(kind, shape, tmp_path):
    v = rng(1).normal(size=shape).astype("float32")
    layer = OuterProduct(kernel=kind)
    layer.build(v.shape)
    randomize(layer, 2)
    params = registry_count("outer_product", {"fields": StackType(shape[1], shape[2])}, {"kernel": kind})
    out = check_layer(layer, v, params=params, tmp_path=tmp_path)
    assert out.shape == (shape[0], shape[1] * (shape[1] - 1) // 2)
    assert_close(out, outer_reference(kind, weight(layer.kernel), v.astype("float64")))


def test_unknown_kernel():
    with pytest.raises(ValueError, match="mat"):
        OuterProduct(kernel="matrix")


def test_checker_refuses_one_field(tmp_path):
    path = tmp_path / "one.rec"
    path.write_text("model m\nfeature a : id(buckets=10, dim=8)\nblock x = outer_product([a], kernel=vec)\n"
                    "output o = sigmoid(x)\n")
    with pytest.raises(SpecErrors) as info:
        recdsl.typecheck(path)
    error = next(e for e in info.value.errors if e.severity == "error")
    assert error.message == "outer_product needs at least two fields (one field has no pairs)"
    assert (error.span.line, error.span.column) == (3, 25)


def test_mixed_precision():
    v = rng(3).normal(size=(4, 3, 5)).astype("float32")
    for kind in ("mat", "vec", "num"):
        check_mixed(lambda dtype: OuterProduct(kernel=kind, dtype=dtype), v)
