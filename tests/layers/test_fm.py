import itertools

import pytest

from recdsl.layers.fm import FMInteraction
from recdsl.ops.types import StackType

from .layer_check import assert_close, check_layer, check_mixed, registry_count, rng

B, F, D = 5, 4, 3


@pytest.mark.parametrize("reduce", [True, False])
def test_matches_pairwise_sum(reduce, tmp_path):
    v = rng(1).normal(size=(B, F, D)).astype("float32")
    params = registry_count("fm", {"fields": StackType(F, D)}, {"reduce": reduce})
    out = check_layer(FMInteraction(reduce=reduce), v, params=params, tmp_path=tmp_path)
    v = v.astype("float64")
    pairs = sum(v[:, i] * v[:, j] for i, j in itertools.combinations(range(F), 2))
    assert_close(out, pairs.sum(-1, keepdims=True) if reduce else pairs)


def test_mixed_precision():
    v = rng(2).normal(size=(B, F, D)).astype("float32")
    check_mixed(lambda dtype: FMInteraction(dtype=dtype), v)
