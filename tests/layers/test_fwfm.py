import numpy as np
import pytest

import recdsl
from recdsl.lang.errors import SpecErrors
from recdsl.layers.fwfm import FieldWeightedFM
from recdsl.ops.types import StackType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight


def fwfm_reference(r, v):
    out, pair = np.zeros((v.shape[0], 1)), 0
    for i in range(v.shape[1]):
        for j in range(i + 1, v.shape[1]):
            out[:, 0] += r[pair] * np.sum(v[:, i] * v[:, j], axis=-1)
            pair += 1
    return out


@pytest.mark.parametrize("batch, fields, dim", [(5, 4, 3), (1, 2, 6), (3, 7, 1)])
def test_matches_numpy(batch, fields, dim, tmp_path):
    v = rng(1).normal(size=(batch, fields, dim)).astype("float32")
    layer = FieldWeightedFM()
    layer.build(v.shape)
    randomize(layer, 2)
    params = registry_count("fwfm", {"fields": StackType(fields, dim)})
    assert params == fields * (fields - 1) // 2
    out = check_layer(layer, v, params=params, tmp_path=tmp_path)
    assert_close(out, fwfm_reference(weight(layer.pair_weight), v.astype("float64")))


def test_unit_weights_are_fm():
    """With every r_ij = 1 (the initial value) FwFM is FM's second-order term."""
    v = rng(4).normal(size=(3, 5, 4))
    fm = 0.5 * (np.sum(v, axis=1) ** 2 - np.sum(v ** 2, axis=1)).sum(-1, keepdims=True)
    assert_close(FieldWeightedFM()(v.astype("float32")), fm)


def test_needs_two_fields():
    with pytest.raises(ValueError, match="two fields"):
        FieldWeightedFM()(np.zeros((2, 1, 3), "float32"))


def test_checker_refuses_one_field(tmp_path):
    path = tmp_path / "one.rec"
    path.write_text("model m\nfeature a : id(buckets=10, dim=8)\nblock x = fwfm([a])\noutput o = sigmoid(x)\n")
    with pytest.raises(SpecErrors) as info:
        recdsl.typecheck(path)
    error = next(e for e in info.value.errors if e.severity == "error")
    assert error.message == "fwfm needs at least two fields (one field has no pairs)"
    assert (error.span.line, error.span.column) == (3, 16) and "two or more fields" in error.hint


def test_mixed_precision():
    v = rng(3).normal(size=(4, 3, 5)).astype("float32")
    check_mixed(lambda dtype: FieldWeightedFM(dtype=dtype), v)
