import numpy as np
import pytest

from recdsl.layers.transformer import TransformerEncoder
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

B, L, D = 5, 4, 4


def layer_norm(norm, x):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + norm.epsilon) * weight(norm.gamma) + weight(norm.beta)


def mha_reference(mha, x, allowed):
    proj = lambda dense: np.einsum("bld,dhe->blhe", x, weight(dense.kernel)) + weight(dense.bias)
    q, k, v = proj(mha._query_dense), proj(mha._key_dense), proj(mha._value_dense)
    s = np.einsum("bqhe,bkhe->bhqk", q, k) / np.sqrt(q.shape[-1])
    a = ref.softmax(s, allowed[:, None])
    out = np.einsum("bhqk,bkhe->bqhe", a, v)
    return np.einsum("bqhe,hed->bqd", out, weight(mha._output_dense.kernel)) + weight(mha._output_dense.bias)


def encoder_reference(layer, x, mask, causal):
    allowed = mask[:, None, :] & mask[:, :, None]
    if causal:
        allowed = allowed & np.tril(np.ones((x.shape[1],) * 2, bool))
    for block in layer.blocks:
        x = layer_norm(block["norm_1"], x + mha_reference(block["attention"], x, allowed))
        hidden = ref.dense(block["ff_2"], np.maximum(ref.dense(block["ff_1"], x), 0))
        x = np.where(mask[..., None], layer_norm(block["norm_2"], x + hidden), 0.0)
    return x


@pytest.mark.parametrize("kwargs", [dict(), dict(heads=1, ff=3, layers=2, causal=True), dict(heads=2, ff=6, dropout=0.1)])
def test_matches_numpy(kwargs, tmp_path):
    x = rng(1).normal(size=(B, L, D)).astype("float32")
    mask = lengths_mask([4, 1, 2, 3, 4], L)
    layer = TransformerEncoder(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2, scale=0.3)
    params = registry_count("transformer", {"x": SeqType(L, D)}, kwargs)
    out = check_layer(layer, x, mask=mask, params=params, tmp_path=tmp_path)
    assert_close(out, encoder_reference(layer, x.astype("float64"), mask, kwargs.get("causal", False)))


def test_padding_values_do_not_leak_and_empty_rows_are_zero():
    x = rng(3).normal(size=(B, L, D)).astype("float32")
    mask = lengths_mask([4, 0, 2, 3, 1], L)
    layer = TransformerEncoder(heads=2, layers=2)
    base = to_numpy(layer(x, mask=mask))
    junk = np.where(mask[..., None], x, 1e3).astype("float32")
    assert_close(layer(junk, mask=mask), base)
    assert np.all(base[1] == 0.0) and np.all(np.isfinite(base))


def test_mixed_precision():
    x = rng(4).normal(size=(B, L, D)).astype("float32")
    mask = lengths_mask([4, 0, 2, 3, 1], L)
    check_mixed(lambda dtype: TransformerEncoder(heads=2, causal=True, dtype=dtype), x, mask=mask)
