"""Multi-head self-attention against numpy, in each style and with each option: per head
softmax(Q_h K_h^T / sqrt(dh)) V_h over the valid keys, an optional output projection, a projected
residual and an activation; the standard style against keras.layers.MultiHeadAttention; padding,
order, all-padding rows and mixed precision."""
import math

import keras
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

B, N, D = 5, 4, 6
LENGTHS = [4, 0, 2, 3, 1]

ACTIVATIONS = {
    "relu": lambda t: np.maximum(t, 0.0), "linear": lambda t: t, "tanh": np.tanh,
    "sigmoid": lambda t: 1 / (1 + np.exp(-t)), "swish": lambda t: t / (1 + np.exp(-t)),
    "gelu": lambda t: 0.5 * t * (1 + np.vectorize(math.erf)(t / math.sqrt(2))),
}
PROJECTIONS = ("query", "key", "value")


def multihead_reference(stack, heads, activation, x, keys, values, keys_mask, rows_mask, follow):
    """Stacked layers, each act(concat_h softmax(Q_h K_h^T / sqrt(dh)) V_h [W_O + b_O] [+ x W_res]),
    rows outside rows_mask zeroed; `stack` holds each layer's weights by name (float64)."""

    def dense(t, w, name):
        if name not in w:
            return t
        return t @ w[name] + w.get(f"{name}_bias", 0.0)

    for w in stack:
        if follow:
            keys = values = x
        q, k, v = dense(x, w, "query"), dense(keys, w, "key"), dense(values, w, "value")
        dh, dv = q.shape[-1] // heads, v.shape[-1] // heads
        parts = []
        for h in range(heads):
            s = np.einsum("bqe,bke->bqk", q[..., h * dh:(h + 1) * dh], k[..., h * dh:(h + 1) * dh]) / np.sqrt(dh)
            parts.append(np.einsum("bqk,bke->bqe", ref.softmax(s, keys_mask[:, None, :]),
                                   v[..., h * dv:(h + 1) * dv]))
        a = dense(np.concatenate(parts, axis=-1), w, "output")
        if "residual" in w:
            a = a + x @ w["residual"]
        x = np.where(rows_mask[..., None], ACTIVATIONS[activation](a), 0.0)
    return x


def weights_of(layer):
    return [{name: weight(v) for name, v in w.items()} for w in layer.projections]


def names(project=True, bias=False, output=False, residual=False):
    out = set(PROJECTIONS) if project else set()
    out |= {"output"} if output else set()
    if bias:
        out |= {f"{n}_bias" for n in out}
    return out | ({"residual"} if residual else set())


#: (layer arguments, what they mean written out: weights per layer, activation, output width)
CASES = [
    (dict(), names(residual=True), "relu", 2 * D),                     # AutoInt, today's default
    (dict(heads=3, head_dim=2, layers=2), names(residual=True), "relu", 6),
    (dict(heads=1, residual=False, layers=2), names(), "relu", D),
    (dict(style="standard", heads=3), names(bias=True, output=True), "linear", D),
    (dict(style="standard", heads=2, layers=2), names(bias=True, output=True), "linear", D),
    (dict(style="standard", project=False, heads=1), set(), "linear", D),  # softmax(x x^T / sqrt(d)) x
    (dict(style="standard", project=False, heads=2, output_proj=4, layers=2, activation="tanh"),
     names(project=False, bias=True, output=True), "tanh", 4),
    (dict(project=False, heads=3), names(project=False, residual=True), "relu", D),
    (dict(bias=True, output_proj=5, activation="gelu", heads=2, head_dim=3), names(bias=True, output=True,
                                                                                  residual=True), "gelu", 5),
    (dict(style="standard", residual=True, bias=False, activation="sigmoid", heads=2, head_dim=4, output_proj=0),
     names(residual=True), "sigmoid", 8),
    (dict(style="autoint", activation="swish", output_proj=3, layers=3, heads=2, head_dim=2),
     names(output=True, residual=True), "swish", 3),
]


def inputs(seed):
    return rng(seed).normal(size=(B, N, D)).astype("float32"), lengths_mask(LENGTHS, N)


@pytest.mark.parametrize("kwargs,expected,activation,width", CASES)
@pytest.mark.parametrize("masked", [False, True])
def test_matches_numpy(kwargs, expected, activation, width, masked, tmp_path):
    x, mask = inputs(1)
    mask = mask if masked else None
    layer = SelfAttention(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2)  # biases away from their zero start
    assert all(set(w) == expected for w in layer.projections), [sorted(w) for w in layer.projections]
    params = registry_count("self_attention", {"x": SeqType(N, D) if masked else StackType(N, D)}, kwargs)
    out = check_layer(layer, x, mask=mask, params=params, tmp_path=tmp_path)
    assert out.shape == (B, N, width)
    valid = np.ones((B, N), bool) if mask is None else mask
    assert_close(out, multihead_reference(weights_of(layer), kwargs.get("heads", 2), activation,
                                          x.astype("float64"), None, None, valid, valid, follow=True))


def test_the_plain_form_has_no_weights():
    x, _ = inputs(2)
    layer = SelfAttention(style="standard", project=False, heads=1)
    d = x.astype("float64")
    s = np.einsum("bqe,bke->bqk", d, d) / np.sqrt(D)
    assert_close(layer(x), np.einsum("bqk,bke->bqe", ref.softmax(s, np.ones_like(s, bool)), d))
    assert not layer.weights


def _keras_mha(layer, heads, head_dim):
    """A keras.layers.MultiHeadAttention holding `layer`'s single-layer standard-style weights."""
    mha = keras.layers.MultiHeadAttention(heads, head_dim)
    mha.build((B, N, D), (B, N, D))
    w = {n: to_numpy(v) for n, v in layer.projections[0].items()}
    mine = {"query": mha.query_dense, "key": mha.key_dense, "value": mha.value_dense}
    for name, dense in mine.items():
        dense.kernel.assign(w[name].reshape(D, heads, head_dim))
        dense.bias.assign(w[f"{name}_bias"].reshape(heads, head_dim))
    mha.output_dense.kernel.assign(w["output"].reshape(heads, head_dim, D))
    mha.output_dense.bias.assign(w["output_bias"])
    return mha


@pytest.mark.parametrize("heads", [1, 2, 3])
def test_the_standard_style_is_keras_multi_head_attention(heads):
    x, mask = inputs(3)
    layer = SelfAttention(style="standard", heads=heads)
    layer.build(x.shape)
    randomize(layer, 4)
    mha = _keras_mha(layer, heads, D // heads)
    assert_close(layer(x), mha(x, x))
    pair = mask[:, None, :] & mask[:, :, None]
    want = np.where(mask[..., None], to_numpy(mha(x, x, attention_mask=pair)), 0.0)
    assert_close(layer(x, mask=mask), want)


@pytest.mark.parametrize("kwargs", [dict(heads=2, layers=2), dict(style="standard", heads=3, layers=2),
                                    dict(style="standard", project=False, heads=2, output_proj=4)])
def test_padding_values_do_not_leak(kwargs):
    x, mask = inputs(5)
    layer = SelfAttention(**kwargs)
    layer.build(x.shape)
    randomize(layer, 6)
    base = to_numpy(layer(x, mask=mask))
    for junk in (1e3, np.inf, np.nan):
        assert_close(layer(np.where(mask[..., None], x, junk).astype("float32"), mask=mask), base)
    assert np.all(base[~mask] == 0.0)  # padded rows, and the all-padding row 1, are zeros despite the biases


@pytest.mark.parametrize("kwargs", [dict(heads=2), dict(style="standard", heads=2, layers=2)])
def test_equivariant_under_a_permutation_of_valid_positions(kwargs):
    x, mask = inputs(7)
    layer = SelfAttention(**kwargs)
    layer.build(x.shape)
    randomize(layer, 8)
    base = to_numpy(layer(x, mask=mask))
    perm, want = x.copy(), base.copy()
    r = rng(9)
    for b, n in enumerate(LENGTHS):
        order = r.permutation(n)
        perm[b, :n], want[b, :n] = x[b, order], base[b, order]
    assert_close(layer(perm, mask=mask), want)


@pytest.mark.parametrize("kwargs", [
    dict(style="standard", heads=4),                       # 6 is not split between 4 heads
    dict(project=False, heads=4),
    dict(project=False, head_dim=2),
    dict(project=False, bias=True),                        # nothing to bias
    dict(style="other"), dict(activation="dice"),
])
def test_rejects_impossible_options(kwargs):
    with pytest.raises(ValueError):
        SelfAttention(**kwargs).build((B, N, D))


@pytest.mark.parametrize("kwargs", [dict(heads=2, layers=2), dict(style="standard", heads=2, layers=2),
                                    dict(style="standard", project=False, heads=2, output_proj=4)])
def test_mixed_precision(kwargs):
    x, mask = inputs(10)
    check_mixed(lambda dtype: SelfAttention(**kwargs, dtype=dtype), x, mask=mask)
