"""The weights self- and cross-attention expose for the report's diagnostics, against numpy: the
first layer's softmax(Q_h K_h^T / sqrt(dh)) averaged over the heads and the valid queries, [B, L],
0 at padding; and the run report's attention diagnostics covering every attention op of a spec."""
from pathlib import Path

import numpy as np

from recdsl.layers.cross_attention import CrossAttention
from recdsl.layers.self_attention import SelfAttention

from . import reference as ref
from .layer_check import assert_close, lengths_mask, randomize, rng, to_numpy, weight

B, L, D, H = 5, 4, 6, 2


def mean_weights(layer, q, k, keys_ok, rows_ok):
    w = {n: weight(v) for n, v in layer.weights_by_role().items()}
    dh = w["query"].shape[1] // H
    qp, kp = q @ w["query"] + w.get("query_bias", 0.0), k @ w["key"] + w.get("key_bias", 0.0)
    heads = []
    for h in range(H):
        s = np.einsum("bid,bjd->bij", qp[..., h * dh:(h + 1) * dh], kp[..., h * dh:(h + 1) * dh]) / np.sqrt(dh)
        heads.append(ref.softmax(s, np.broadcast_to(keys_ok[:, None, :], s.shape)))
    probs = np.mean(heads, axis=0)                                      # [B, Lq, Lk]
    rows = rows_ok.astype("float64")
    return (probs * rows[..., None]).sum(1) / np.maximum(rows.sum(1, keepdims=True), 1.0)


def test_self_attention_weights_match_numpy():
    x = rng(1).normal(size=(B, L, D)).astype("float32")
    mask = lengths_mask([4, 0, 2, 3, 1], L)
    layer = SelfAttention(style="standard", heads=H)
    layer(x, mask=mask)
    randomize(layer, 2)
    got = to_numpy(layer.attention_weights(x, mask=mask))
    x64 = np.where(mask[..., None], x, 0.0).astype("float64")
    assert_close(got, mean_weights(layer, x64, x64, mask, mask))
    assert np.all(got[~mask] == 0.0) and np.all(got[1] == 0.0)
    np.testing.assert_allclose(got[mask.any(1)].sum(1), 1.0, rtol=1e-5)


def test_cross_attention_weights_match_numpy():
    r = rng(3)
    q, k = r.normal(size=(B, 1, D)).astype("float32"), r.normal(size=(B, L, D)).astype("float32")
    mask = lengths_mask([4, 0, 2, 3, 1], L)
    layer = CrossAttention(heads=H)
    layer([q, k], mask=mask)
    randomize(layer, 4)
    got = to_numpy(layer.attention_weights([q, k], mask=mask))
    rows_ok = np.broadcast_to(mask.any(1, keepdims=True), (B, 1))
    expected = mean_weights(layer, np.where(rows_ok[..., None], q, 0.0).astype("float64"),
                            np.where(mask[..., None], k, 0.0).astype("float64"), mask, rows_ok)
    assert_close(got, expected)
    assert np.all(got[~mask] == 0.0)


def test_the_report_covers_every_attention_op():
    """merged_attention: self-attention (twice, the target's [B, 1, d] included), traditional and
    target attention each get their weights, [n, L] with 0 at padding."""
    import recdsl
    from recdsl.emitter import emit
    from recdsl.training.diagnostics import attention_pools, attention_weights

    spec = recdsl.typecheck(Path(__file__).resolve().parents[2] / "specs" / "merged_attention.rec")
    assert {n.name for n in attention_pools(spec)} == {"history_self", "target_self", "history_trad", "interest"}
    model = emit(spec)
    r = rng(5)
    hist = r.integers(1, 40, (16, 30)).astype("int32")
    hist[np.arange(30)[None, :] >= r.integers(0, 31, 16)[:, None]] = 0
    inputs = {"user_id": r.integers(1, 40, 16).astype("int32"), "item_id": r.integers(1, 40, 16).astype("int32"),
              "hist_items": hist}
    got = attention_weights(model, spec, inputs, rows=16)
    for name in ("history_self", "history_trad", "interest"):
        w, m, normalize = got[name]
        assert w.shape == (16, 30) and normalize == "softmax"
        assert np.all(w[~m] == 0.0)
        np.testing.assert_allclose(w[m.any(1)].sum(1), 1.0, rtol=1e-5)
    assert got["target_self"][0].shape == (16, 1)   # one field: its only key has weight 1
    np.testing.assert_allclose(got["target_self"][0], 1.0, rtol=1e-6)
