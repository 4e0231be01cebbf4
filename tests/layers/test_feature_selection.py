import numpy as np
import pytest

from recdsl.layers.feature_selection import FeatureSelection
from recdsl.ops.types import VectorType

from . import reference as ref
from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, to_numpy, weight


def selection_reference(layer, x, context=None):
    """out = 2 sigmoid(MLP(c)) * x, c the context input or the learned context row."""
    h = weight(layer.context) if context is None else context
    for dense in layer.hidden:
        h = np.maximum(ref.dense(dense, h), 0)
    return 2 / (1 + np.exp(-ref.dense(layer.gate, h))) * x


CASES = [  # batch, width of x, context width (None: learned), units, context_dim
    (5, 6, 3, [4], 16),
    (1, 4, 2, [5, 3], 16),
    (3, 5, None, [4], 3),
    (1, 3, None, [], 2),
    (2, 4, 3, [], 16),
]


@pytest.mark.parametrize("batch, width, context, units, context_dim", CASES)
def test_matches_numpy(batch, width, context, units, context_dim, tmp_path):
    r = rng(1)
    x = r.normal(size=(batch, width)).astype("float32")
    by = None if context is None else r.normal(size=(batch, context)).astype("float32")
    layer = FeatureSelection(units=units, context_dim=context_dim)
    layer.build(x.shape if by is None else [x.shape, by.shape])
    randomize(layer, 2)
    slots = {"x": VectorType(width)}
    if context is not None:
        slots["by"] = VectorType(context)
    params = registry_count("feature_selection", slots, {"units": units, "context_dim": context_dim})
    out = check_layer(layer, x if by is None else [x, by], params=params, tmp_path=tmp_path)
    assert_close(out, selection_reference(layer, x.astype("float64"), None if by is None else by.astype("float64")))


def test_parameters_by_hand():
    """A learned context of 16, a 64-wide hidden layer, 160 gated values."""
    assert registry_count("feature_selection", {"x": VectorType(160)}) == 16 + (16 * 64 + 64) + (64 * 160 + 160)
    assert registry_count("feature_selection", {"x": VectorType(8), "by": VectorType(3)}, {"units": []}) == 3 * 8 + 8


def test_a_fresh_gate_without_context_is_the_identity():
    """The learned context starts at zeros and the biases too: every gate is 2 sigmoid(0) = 1."""
    x = rng(3).normal(size=(4, 6)).astype("float32")
    layer = FeatureSelection(units=[5])
    assert_close(layer(x), x)


def test_gates_lie_between_zero_and_two():
    r = rng(4)
    x, by = np.ones((6, 5), "float32"), r.normal(size=(6, 3)).astype("float32") * 10
    layer = FeatureSelection(units=[4])
    layer.build([x.shape, by.shape])
    randomize(layer, 5, scale=3.0)
    out = to_numpy(layer([x, by]))
    assert np.all(out >= 0) and np.all(out <= 2) and out.min() < 0.5 and out.max() > 1.5


def test_mixed_precision():
    r = rng(6)
    x, by = r.normal(size=(4, 6)).astype("float32"), r.normal(size=(4, 3)).astype("float32")
    check_mixed(lambda dtype: FeatureSelection(dtype=dtype), [x, by])
    check_mixed(lambda dtype: FeatureSelection(units=[3], context_dim=4, dtype=dtype), x)
