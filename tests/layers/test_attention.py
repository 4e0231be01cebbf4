import numpy as np
import pytest

from recdsl.layers.attention import TargetAttention
from recdsl.ops.types import FieldType, SeqType

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

B, L, DQ, DK, DV = 6, 5, 4, 3, 2


def attention_reference(layer, q, k, v, mask):
    raw_width = k.shape[-1]
    if layer.transform:
        k = k @ weight(layer.key_kernel) + (weight(layer.key_bias) if layer.key_bias_on else 0.0)
    if layer.score == "additive":
        hidden = np.tanh((q @ weight(layer.query_proj))[:, None] + k @ weight(layer.key_proj)
                         + weight(layer.additive_bias))
        s = hidden @ weight(layer.additive_v)
    elif layer.score == "bilinear":
        s = np.einsum("bi,ij,blj->bl", q, weight(layer.bilinear), k)
    else:
        width = {"query": q.shape[-1], "mean": (raw_width + q.shape[-1]) / 2, "key": raw_width}[layer.scale]
        s = np.einsum("bi,bli->bl", q, k) / (np.sqrt(width) if layer.score == "scaled_dot" else 1.0)
    a = ref.softmax(s, mask)
    weighted = a[..., None] * np.where(mask[..., None], v, 0.0)
    return weighted.sum(1) if layer.output_mode == "pooled" else weighted


def inputs(seed, dk=DK):
    r = rng(seed)
    return (r.normal(size=(B, DQ)).astype("float32"), r.normal(size=(B, L, dk)).astype("float32"),
            r.normal(size=(B, L, DV)).astype("float32"), lengths_mask([5, 0, 2, 3, 1, 4], L))


CASES = [
    (dict(score="scaled_dot"), DK, True),
    (dict(score="dot", output="sequence"), DK, True),
    (dict(score="bilinear"), DK, False),
    (dict(score="bilinear", transform=False), DK, True),
    (dict(score="additive", units=3), DK, True),
    (dict(score="additive", transform=False, units=5, output="sequence"), DK, False),
    (dict(score="scaled_dot", transform=False), DQ, False),
    (dict(score="scaled_dot", key_bias=False), DK, True),
    (dict(score="scaled_dot", scale="mean", key_bias=False), DK, False),   # the attention article's form
    (dict(score="scaled_dot", scale="key"), DK, True),
    (dict(score="additive", units=3, key_bias=False, output="sequence"), DK, True),
]


@pytest.mark.parametrize("score", ["dot", "scaled_dot", "bilinear"])
def test_the_key_bias_cancels_in_the_softmax(score):
    """q . (k Wk + bk) = q . k Wk + q . bk: the same for every position, so the weights do not move."""
    q, k, v, mask = inputs(5)
    with_bias, without = TargetAttention(score=score), TargetAttention(score=score, key_bias=False)
    with_bias.build([q.shape, k.shape])
    without.build([q.shape, k.shape])
    randomize(with_bias, 6, scale=2.0)
    without.set_weights([w for w, v_ in zip(with_bias.get_weights(), with_bias.weights) if v_ is not with_bias.key_bias])
    assert np.abs(weight(with_bias.key_bias)).max() > 0.5
    assert_close(with_bias([q, k, v], mask=mask), to_numpy(without([q, k, v], mask=mask)))



@pytest.mark.parametrize("kwargs,dk,with_values", CASES)
def test_matches_numpy(kwargs, dk, with_values, tmp_path):
    q, k, v, mask = inputs(1, dk)
    layer = TargetAttention(**kwargs)
    feed = [q, k, v] if with_values else [q, k]
    layer.build([x.shape for x in feed])
    randomize(layer, 2)
    slots = {"query": FieldType(DQ), "keys": SeqType(L, dk), "values": SeqType(L, DV) if with_values else None}
    out = check_layer(layer, feed, mask=mask, params=registry_count("attention", slots, kwargs), tmp_path=tmp_path)
    expected = attention_reference(layer, q.astype("float64"), k.astype("float64"),
                                   (v if with_values else k).astype("float64"), mask)
    assert_close(out, expected)
    assert np.all(out[1] == 0.0)


@pytest.mark.parametrize("score", ["scaled_dot", "additive"])
def test_pooled_invariant_to_order_and_padding(score):
    q, k, v, mask = inputs(3)
    layer = TargetAttention(score=score, units=4)
    base = to_numpy(layer([q, k, v], mask=mask))
    junk_k = np.where(mask[..., None], k, 1e3).astype("float32")
    junk_v = np.where(mask[..., None], v, -1e3).astype("float32")
    assert_close(layer([q, junk_k, junk_v], mask=mask), base)
    perm_k, perm_v = k.copy(), v.copy()
    for b, n in enumerate(mask.sum(1)):
        p = rng(10 + b).permutation(n)
        perm_k[b, :n], perm_v[b, :n] = k[b, p], v[b, p]
    assert_close(layer([q, perm_k, perm_v], mask=mask), base)


def test_dual_attention_chains_two_pools():
    q, k, v, mask = inputs(4)
    first = TargetAttention(score="dot", output="sequence")
    second = TargetAttention(score="bilinear", transform=False)
    refined = first([q, k, v], mask=mask)
    out = to_numpy(second([q, refined], mask=mask))
    assert out.shape == (B, DV) and np.all(np.isfinite(out))
    assert np.all(out[1] == 0.0)


def test_mixed_precision():
    q, k, v, mask = inputs(5)
    for score in ("scaled_dot", "bilinear", "additive"):
        check_mixed(lambda dtype: TargetAttention(score=score, units=4, dtype=dtype), [q, k, v], mask=mask)


def test_rejects_dot_with_mismatched_widths():
    q, k, _, _ = inputs(6)
    with pytest.raises(ValueError, match="query width"):
        TargetAttention(score="dot", transform=False)([q, k])
