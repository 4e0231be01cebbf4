import numpy as np
import pytest

from recdsl.layers.self_attention import SelfAttention
from recdsl.ops.types import SeqType, StackType

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

B, N, D = 5, 4, 3


def autoint_reference(layer, x, mask):
    mask = np.ones(x.shape[:2], bool) if mask is None else mask
    for weights in layer.projections:
        q, k, v = (x @ weight(weights[n]) for n in ("query", "key", "value"))
        heads = []
        for h in range(layer.heads):
            cols = slice(h * layer.dh, (h + 1) * layer.dh)
            s = np.einsum("bqe,bke->bqk", q[..., cols], k[..., cols]) / np.sqrt(layer.dh)
            heads.append(np.einsum("bqk,bke->bqe", ref.softmax(s, mask[:, None, :]), v[..., cols]))
        att = np.concatenate(heads, axis=-1)
        if layer.residual:
            att = att + x @ weight(weights["residual"])
        x = np.where(mask[..., None], np.maximum(att, 0), 0.0)
    return x


CASES = [dict(), dict(heads=3, head_dim=2, layers=2), dict(heads=1, residual=False, layers=2)]


@pytest.mark.parametrize("kwargs", CASES)
@pytest.mark.parametrize("masked", [False, True])
def test_matches_numpy(kwargs, masked, tmp_path):
    x = rng(1).normal(size=(B, N, D)).astype("float32")
    mask = lengths_mask([4, 0, 2, 3, 1], N) if masked else None
    layer = SelfAttention(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2)
    x_type = SeqType(N, D) if masked else StackType(N, D)
    params = registry_count("self_attention", {"x": x_type}, kwargs)
    out = check_layer(layer, x, mask=mask, params=params, tmp_path=tmp_path)
    assert out.shape == (B, N, layer.heads * (kwargs.get("head_dim") or D))
    assert_close(out, autoint_reference(layer, x.astype("float64"), mask))


def test_padding_values_do_not_leak():
    x = rng(3).normal(size=(B, N, D)).astype("float32")
    mask = lengths_mask([4, 0, 2, 3, 1], N)
    layer = SelfAttention(heads=2, layers=2)
    base = to_numpy(layer(x, mask=mask))
    junk = np.where(mask[..., None], x, 1e3).astype("float32")
    assert_close(layer(junk, mask=mask), base)
    assert np.all(base[1] == 0.0)


def test_mixed_precision():
    x = rng(4).normal(size=(B, N, D)).astype("float32")
    mask = lengths_mask([4, 0, 2, 3, 1], N)
    check_mixed(lambda dtype: SelfAttention(heads=2, layers=2, dtype=dtype), x, mask=mask)
