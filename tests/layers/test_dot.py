import numpy as np
import pytest

from recdsl.layers.dot import DotInteraction
from recdsl.ops.types import StackType

from .layer_check import assert_close, check_layer, check_mixed, registry_count, rng

B, F, D = 5, 4, 3


@pytest.mark.parametrize("self_interaction", [False, True])
def test_matches_numpy(self_interaction, tmp_path):
    v = rng(1).normal(size=(B, F, D)).astype("float32")
    params = registry_count("dot", {"fields": StackType(F, D)}, {"self_interaction": self_interaction})
    out = check_layer(DotInteraction(self_interaction=self_interaction), v, params=params, tmp_path=tmp_path)
    v = v.astype("float64")
    expected = [np.sum(v[:, i] * v[:, j], -1)
                for i in range(F) for j in range(i if self_interaction else i + 1, F)]
    assert_close(out, np.stack(expected, axis=1))


def test_mixed_precision():
    v = rng(2).normal(size=(B, F, D)).astype("float32")
    check_mixed(lambda dtype: DotInteraction(dtype=dtype), v)
