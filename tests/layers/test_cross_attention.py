"""Multi-head cross-attention against numpy: queries [B, Lq, dq] over keys [B, Lk, dk] and values
[B, Lk, dv], each style and option; the standard style against keras.layers.MultiHeadAttention;
the keys' and the query's masks, padding values, order, empty histories, gradients and mixed precision."""
import keras
import numpy as np
import pytest

from recdsl.layers.cross_attention import CrossAttention
from recdsl.ops.types import SeqType, StackType

from .layer_check import (
    assert_close,
    check_layer,
    check_mixed,
    lengths_mask,
    randomize,
    registry_count,
    rng,
    to_numpy,
)
from .test_self_attention import multihead_reference, names, weights_of

B, LQ, LK, DQ, DK, DV = 6, 3, 5, 4, 6, 2
KEY_LENGTHS, QUERY_LENGTHS = [5, 0, 2, 3, 1, 4], [3, 2, 0, 1, 3, 2]


def inputs(seed, dq=DQ, dk=DK, dv=DV):
    r = rng(seed)
    return (r.normal(size=(B, LQ, dq)).astype("float32"), r.normal(size=(B, LK, dk)).astype("float32"),
            r.normal(size=(B, LK, dv)).astype("float32"))


KEYS_MASK, QUERY_MASK = lengths_mask(KEY_LENGTHS, LK), lengths_mask(QUERY_LENGTHS, LQ)

#: (layer arguments, values given, weights per layer, activation, output width)
CASES = [
    (dict(), True, names(bias=True, output=True), "linear", DQ),           # the standard default
    (dict(heads=1, layers=2), False, names(bias=True, output=True), "linear", DQ),
    (dict(style="autoint"), True, names(residual=True), "relu", 2 * DQ),
    (dict(style="autoint", heads=3, head_dim=2, layers=2, residual=False, bias=True, activation="tanh",
          output_proj=5), True, names(bias=True, output=True), "tanh", 5),
    (dict(heads=2, head_dim=3, output_proj=0, residual=True, bias=False, activation="sigmoid"), False,
     names(residual=True), "sigmoid", 6),
]


@pytest.mark.parametrize("kwargs,with_values,expected,activation,width", CASES)
@pytest.mark.parametrize("masks", ["none", "keys", "both"])
def test_matches_numpy(kwargs, with_values, expected, activation, width, masks, tmp_path):
    q, k, v = inputs(1)
    feed = [q, k, v] if with_values else [q, k]
    layer = CrossAttention(**kwargs)
    layer.build([t.shape for t in feed])
    randomize(layer, 2)
    assert all(set(w) == expected for w in layer.projections), [sorted(w) for w in layer.projections]
    slots = {"query": SeqType(LQ, DQ) if masks == "both" else StackType(LQ, DQ), "keys": SeqType(LK, DK),
             "values": SeqType(LK, DV) if with_values else None}
    params = registry_count("cross_attention", slots, kwargs)
    keys_mask = np.ones((B, LK), bool) if masks == "none" else KEYS_MASK
    query_mask = QUERY_MASK if masks == "both" else np.ones((B, LQ), bool)
    if masks == "both":
        out = to_numpy(layer(feed, mask=[QUERY_MASK, KEYS_MASK]))
        check_layer(layer, feed, mask=KEYS_MASK, params=params, tmp_path=tmp_path)
    else:
        out = check_layer(layer, feed, mask=None if masks == "none" else KEYS_MASK, params=params, tmp_path=tmp_path)
    assert out.shape == (B, LQ, width)
    rows = query_mask & keys_mask.any(1)[:, None]
    d = [t.astype("float64") for t in feed]
    want = multihead_reference(weights_of(layer), kwargs.get("heads", 2), activation, d[0], d[1], d[-1],
                               keys_mask, rows, follow=False)
    assert_close(out, want)


@pytest.mark.parametrize("heads", [1, 2])
def test_unprojected_is_softmax_of_q_k_times_v(heads):
    q, k, v = inputs(3, dq=DK, dv=4)
    layer = CrossAttention(project=False, heads=heads)
    out = to_numpy(layer([q, k, v], mask=KEYS_MASK))
    assert not layer.weights
    assert out.shape == (B, LQ, 4)
    rows = np.ones((B, LQ), bool) & KEYS_MASK.any(1)[:, None]
    d = [t.astype("float64") for t in (q, k, v)]
    assert_close(out, multihead_reference([{}], heads, "linear", *d, KEYS_MASK, rows, follow=False))


@pytest.mark.parametrize("heads", [1, 3])
def test_the_standard_style_is_keras_multi_head_attention(heads):
    q, k, v = inputs(4, dq=6)
    layer = CrossAttention(heads=heads)
    layer.build([q.shape, k.shape, v.shape])
    randomize(layer, 5)
    dh = 6 // heads
    mha = keras.layers.MultiHeadAttention(heads, dh)
    mha.build(q.shape, v.shape, k.shape)
    w = {n: to_numpy(t) for n, t in layer.projections[0].items()}
    for name, dense, d_in in (("query", mha.query_dense, 6), ("key", mha.key_dense, DK),
                              ("value", mha.value_dense, DV)):
        dense.kernel.assign(w[name].reshape(d_in, heads, dh))
        dense.bias.assign(w[f"{name}_bias"].reshape(heads, dh))
    mha.output_dense.kernel.assign(w["output"].reshape(heads, dh, 6))
    mha.output_dense.bias.assign(w["output_bias"])
    assert_close(layer([q, k, v]), mha(q, v, key=k))
    rows = KEYS_MASK.any(1)
    got = to_numpy(layer([q, k, v], mask=KEYS_MASK))
    want = to_numpy(mha(q, v, key=k, attention_mask=np.repeat(KEYS_MASK[:, None, :], LQ, axis=1)))
    assert_close(got[rows], want[rows])
    assert np.all(got[~rows] == 0.0)  # no valid key: zeros (keras would average the padding)


@pytest.mark.parametrize("kwargs", [dict(), dict(style="autoint", layers=2)])
def test_padding_values_do_not_leak(kwargs):
    q, k, v = inputs(6)
    layer = CrossAttention(**kwargs)
    layer.build([q.shape, k.shape, v.shape])
    randomize(layer, 7)
    base = to_numpy(layer([q, k, v], mask=[QUERY_MASK, KEYS_MASK]))
    for junk in (1e3, np.inf, np.nan):
        jq = np.where(QUERY_MASK[..., None], q, junk).astype("float32")
        jk, jv = (np.where(KEYS_MASK[..., None], t, junk).astype("float32") for t in (k, v))
        assert_close(layer([jq, jk, jv], mask=[QUERY_MASK, KEYS_MASK]), base)
    assert np.all(base[~QUERY_MASK] == 0.0)                     # padded query rows
    assert np.all(base[1] == 0.0)                               # row 1 has no valid key
    assert np.all(np.abs(base[QUERY_MASK & KEYS_MASK.any(1)[:, None]]).sum(-1) > 0)


def test_invariant_to_the_order_of_keys_and_equivariant_in_queries():
    q, k, v = inputs(8)
    layer = CrossAttention(heads=2, layers=2, residual=True)
    layer.build([q.shape, k.shape, v.shape])
    randomize(layer, 9)
    base = to_numpy(layer([q, k, v], mask=[QUERY_MASK, KEYS_MASK]))
    r = rng(10)
    pk, pv, pq, want = k.copy(), v.copy(), q.copy(), base.copy()
    for b, (nk, nq) in enumerate(zip(KEY_LENGTHS, QUERY_LENGTHS)):
        order = r.permutation(nk)
        pk[b, :nk], pv[b, :nk] = k[b, order], v[b, order]
        order = r.permutation(nq)
        pq[b, :nq], want[b, :nq] = q[b, order], base[b, order]
    assert_close(layer([pq, pk, pv], mask=[QUERY_MASK, KEYS_MASK]), want)


def test_nan_in_padded_keys_reaches_no_gradient():
    q, k, v = inputs(11)
    symbols = [keras.Input((LQ, DQ)), keras.Input((LK, DK)), keras.Input((LK, DV)),
               keras.Input((LK,), dtype="bool")]
    y = CrossAttention(heads=2, residual=True)(symbols[:3], mask=symbols[3])
    model = keras.Model(symbols, keras.layers.Dense(1)(keras.layers.Flatten()(y)))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", run_eagerly=True)
    start = model.get_weights()

    def step(fill):
        model.set_weights(start)
        padded = [np.where(KEYS_MASK[..., None], t, fill).astype("float32") for t in (k, v)]
        model.train_on_batch([q, *padded, KEYS_MASK], np.ones((B, 1), "float32"))
        return model.get_weights()

    clean, dirty = step(0.0), step(np.nan)
    assert any(not np.array_equal(a, b) for a, b in zip(start, clean))
    for a, b in zip(dirty, clean):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kwargs,dq", [
    (dict(heads=3), DQ),                               # standard: a width of 4 is not split between 3 heads
    (dict(project=False), DQ),                         # query width 4 != key width 6
    (dict(project=False, heads=4), DK),                # key width 6 is not split between 4 heads
    (dict(project=False, bias=True), DK),              # nothing to bias
    (dict(project=False, head_dim=3), DK),
])
def test_rejects_impossible_options(kwargs, dq):
    with pytest.raises(ValueError):
        CrossAttention(**kwargs).build([(B, LQ, dq), (B, LK, DK)])
    CrossAttention(heads=4).build([(B, LQ, DQ), (B, LK, DK)])  # the control: 4 heads of 1


@pytest.mark.parametrize("kwargs", [dict(), dict(style="autoint", layers=2)])
def test_mixed_precision(kwargs):
    q, k, v = inputs(12)
    check_mixed(lambda dtype: CrossAttention(**kwargs, dtype=dtype), [q, k, v], mask=KEYS_MASK)
