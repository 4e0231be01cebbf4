"""Query-free (traditional) attention against numpy: s_l = w2 . act(W1 x_l + b1), a = masked
softmax(s), pooled sum_l a_l x_l or re-weighted a_l x_l; padding, order and all-padding rows."""
import numpy as np
import pytest

from recdsl.layers.traditional_attention import TraditionalAttention
from recdsl.ops.types import SeqType

from . import reference as ref
from .layer_check import (
    assert_close,
    check_layer,
    check_mixed,
    lengths_mask,
    randomize,
    registry_count,
    rng,
    to_numpy,
    weight,
)

B, L, D = 6, 5, 3


def traditional_reference(layer, x, mask):
    h = ref.activation(layer.act, layer.activation, ref.dense(layer, x))
    s = h @ weight(layer.score_kernel)[:, 0]
    a = ref.softmax(s, mask)
    weighted = a[..., None] * np.where(mask[..., None], x, 0.0)
    return weighted.sum(1) if layer.output_mode == "pooled" else weighted


def inputs(seed):
    r = rng(seed)
    return r.normal(size=(B, L, D)).astype("float32"), lengths_mask([5, 0, 2, 3, 1, 4], L)


@pytest.mark.parametrize("kwargs", [dict(units=4), dict(units=2, activation="tanh", output="sequence"),
                                    dict(units=3, activation="prelu"), dict(units=1, activation="dice")])
def test_matches_numpy(kwargs, tmp_path):
    x, mask = inputs(1)
    layer = TraditionalAttention(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2)  # biases and slopes away from their zero start
    params = registry_count("traditional_attention", {"x": SeqType(L, D)}, kwargs)
    out = check_layer(layer, x, mask=mask, params=params, tmp_path=tmp_path)
    assert_close(out, traditional_reference(layer, x.astype("float64"), mask))
    assert np.all(out[1] == 0.0)  # an all-padding row gives zeros, not NaN


def test_weights_are_a_softmax_over_valid_positions():
    x, mask = inputs(3)
    layer = TraditionalAttention(units=4)
    w = to_numpy(layer.attention_weights(x, mask=mask))
    assert np.all(w[~mask] == 0.0)
    rows = mask.any(1)
    np.testing.assert_allclose(w[rows].sum(1), 1.0, rtol=1e-6)


def test_pooled_invariant_to_padding_values_and_order():
    x, mask = inputs(4)
    layer = TraditionalAttention(units=4)
    base = to_numpy(layer(x, mask=mask))
    junk = np.where(mask[..., None], x, np.inf).astype("float32")
    assert_close(layer(junk, mask=mask), base)
    perm = x.copy()
    for b, n in enumerate(mask.sum(1)):
        perm[b, :n] = x[b, :n][::-1]
    assert_close(layer(perm, mask=mask), base)


def test_mixed_precision():
    x, mask = inputs(5)
    check_mixed(lambda dtype: TraditionalAttention(units=4, dtype=dtype), x, mask=mask)
