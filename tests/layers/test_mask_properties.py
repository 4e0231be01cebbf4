"""Masked layers see only the valid positions of a sequence (explicit `mask=`), for any mask.

Hypothesis draws the mask (any pattern: valid positions need not be a prefix, rows and
whole batches may be fully padded), the data and what padded positions hold (huge,
+-inf, NaN or random values):

- every masked layer's output is the same whatever padded positions hold;
- pooled outputs (sum / avg / max, DIN, target attention) are invariant, and sequence
  outputs (self-attention, non-causal transformer, DIN and attention with
  output="sequence") are equivariant, under a permutation of each row's valid
  positions. A causal transformer is order-sensitive by design: padding only.

And the gradients: one SGD step on inputs whose padded positions hold NaN gives the same
weights as one on zero-padded inputs (0 * NaN in a backward pass would poison them).
"""
from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recdsl.layers.activations import Dice
from recdsl.layers.attention import TargetAttention
from recdsl.layers.din import DinAttention
from recdsl.layers.pooling import MaskedPool
from recdsl.layers.self_attention import SelfAttention
from recdsl.layers.transformer import TransformerEncoder

from .layer_check import randomize, rng, to_numpy

B, L, D = 4, 5, 4
DV = 3


def _built(layer, shapes, seed, scale=0.5):
    layer.build(shapes)
    randomize(layer, seed, scale)
    return layer


def _pool(mode):
    return lambda: MaskedPool(mode)


# name -> (factory, inputs: "x" | "qk" | "qkv", output: "pooled" | "sequence" | "causal", training)
LAYERS = {
    "sum": (_pool("sum"), "x", "pooled", False),
    "avg": (_pool("avg"), "x", "pooled", False),
    "max": (_pool("max"), "x", "pooled", False),
    "din_dice": (lambda: _built(DinAttention(units=[5, 3]), [(B, D), (B, L, D)], 1), "qk", "pooled", False),
    "din_dice_training": (lambda: _built(DinAttention(units=[5, 3]), [(B, D), (B, L, D)], 2),
                          "qk", "pooled", True),
    "din_prelu_softmax": (lambda: _built(DinAttention(units=[4], activation="prelu", normalize="softmax"),
                                         [(B, D), (B, L, D)], 3), "qk", "pooled", False),
    "din_sequence": (lambda: _built(DinAttention(units=[3], activation="sigmoid", output="sequence"),
                                    [(B, D), (B, L, D)], 4), "qk", "sequence", False),
    "attention_dot": (lambda: _built(TargetAttention(score="dot", transform=False), [(B, D), (B, L, D)], 5),
                      "qk", "pooled", False),
    "attention_scaled_dot": (lambda: _built(TargetAttention(score="scaled_dot"), [(B, D), (B, L, D), (B, L, DV)],
                                            6), "qkv", "pooled", False),
    "attention_bilinear": (lambda: _built(TargetAttention(score="bilinear"), [(B, D), (B, L, D)], 7),
                           "qk", "pooled", False),
    "attention_additive": (lambda: _built(TargetAttention(score="additive", units=3), [(B, D), (B, L, D), (B, L, DV)],
                                          8), "qkv", "pooled", False),
    "attention_sequence": (lambda: _built(TargetAttention(score="scaled_dot", output="sequence"),
                                          [(B, D), (B, L, D), (B, L, DV)], 9), "qkv", "sequence", False),
    "self_attention": (lambda: _built(SelfAttention(heads=2, layers=2), (B, L, D), 10), "x", "sequence", False),
    "transformer": (lambda: _built(TransformerEncoder(heads=2, layers=2), (B, L, D), 11, 0.3),
                    "x", "sequence", False),
    "transformer_causal": (lambda: _built(TransformerEncoder(heads=2, causal=True), (B, L, D), 12, 0.3),
                           "x", "causal", False),
    "dice_training": (lambda: _built(Dice(), (B, L, D), 13), "x", "sequence", True),
}
ORDER_FREE = [name for name, (_, _, out, _) in LAYERS.items() if out != "causal"]

#: What padded positions hold; every example tries each.
JUNK = (1e4, -1e4, np.inf, -np.inf, np.nan, "random")
MASKS = st.lists(st.lists(st.booleans(), min_size=L, max_size=L), min_size=B, max_size=B).map(
    lambda rows: np.asarray(rows, bool))
SETTINGS = settings(max_examples=12, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def layers():
    keras.config.set_dtype_policy("float32")
    return {name: factory() for name, (factory, *_rest) in LAYERS.items()}


def draw_inputs(seed):
    r = rng(seed)
    return (r.normal(size=(B, D)).astype("float32"), r.normal(size=(B, L, D)).astype("float32"),
            r.normal(size=(B, L, DV)).astype("float32"))


def run(name, layer, q, k, v, mask):
    _, kind, _, training = LAYERS[name]
    feed = {"x": k, "qk": [q, k], "qkv": [q, k, v]}[kind]
    kwargs = {"training": True} if training else {}
    return to_numpy(layer(feed, mask=mask, **kwargs))


def fill_padding(x, mask, junk, seed):
    if junk == "random":
        stored = rng(seed).normal(size=x.shape) * 1e3
    else:
        stored = np.full(x.shape, junk)
    return np.where(mask[..., None], x, stored).astype("float32")


def compare(name, got, want, mask):
    out = LAYERS[name][2]
    if name == "dice_training":
        # an element-wise activation: its padded outputs are its padded inputs, transformed
        got, want = got[mask], want[mask]
    assert np.all(np.isfinite(got)), name
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{name} ({out})")


@pytest.mark.parametrize("name", list(LAYERS))
@SETTINGS
@given(mask=MASKS, seed=st.integers(0, 2**16))
def test_padded_positions_do_not_matter(layers, name, mask, seed):
    q, k, v = draw_inputs(seed)
    layer = layers[name]
    base = run(name, layer, q, k, v, mask)
    for junk in JUNK:
        junk_k, junk_v = fill_padding(k, mask, junk, seed + 1), fill_padding(v, mask, junk, seed + 2)
        compare(name, run(name, layer, q, junk_k, junk_v, mask), base, mask)
    if LAYERS[name][2] in ("sequence", "causal") and name != "dice_training":
        assert np.all(base[~mask] == 0.0), name


@pytest.mark.parametrize("name", ORDER_FREE)
@SETTINGS
@given(mask=MASKS, seed=st.integers(0, 2**16))
def test_order_of_valid_positions_does_not_matter(layers, name, mask, seed):
    q, k, v = draw_inputs(seed)
    layer = layers[name]
    base = run(name, layer, q, k, v, mask)
    r = rng(seed + 3)
    perm_k, perm_v, expected = k.copy(), v.copy(), base.copy()
    for b in range(B):
        where = np.flatnonzero(mask[b])
        moved = where[r.permutation(len(where))]
        perm_k[b, where], perm_v[b, where] = k[b, moved], v[b, moved]
        if LAYERS[name][2] == "sequence":
            expected[b, where] = base[b, moved]       # equivariant: outputs move with inputs
    compare(name, run(name, layer, q, perm_k, perm_v, mask), expected, mask)


def test_a_causal_transformer_depends_on_order(layers):
    """The control: the permutation test above would catch an order-sensitive layer."""
    q, k, v = draw_inputs(0)
    mask = np.ones((B, L), bool)
    base = run("transformer_causal", layers["transformer_causal"], q, k, v, mask)
    flipped = run("transformer_causal", layers["transformer_causal"], q, k[:, ::-1].copy(), v, mask)
    assert np.max(np.abs(flipped[:, ::-1] - base)) > 1e-3


GRADIENT_CASES = ["max", "din_dice_training", "attention_additive", "attention_scaled_dot",
                  "self_attention", "transformer"]


@pytest.mark.parametrize("name", GRADIENT_CASES)
def test_nan_in_padded_positions_reaches_no_gradient(name):
    """One SGD step on NaN-padded inputs leaves the same weights as on zero-padded inputs."""
    factory, kind, out, training = LAYERS[name]
    q, k, v = draw_inputs(20)
    mask = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    symbols = {"q": keras.Input((D,), name="q"), "k": keras.Input((L, D), name="k"),
               "v": keras.Input((L, DV), name="v"), "mask": keras.Input((L,), dtype="bool", name="mask")}
    layer = factory()
    feed = {"x": symbols["k"], "qk": [symbols["q"], symbols["k"]],
            "qkv": [symbols["q"], symbols["k"], symbols["v"]]}[kind]
    y = layer(feed, mask=symbols["mask"])
    if out != "pooled":
        y = MaskedPool("sum")(y, mask=symbols["mask"])
    y = keras.layers.Dense(1)(y)                      # a trainable weight for MaskedPool too
    model = keras.Model(symbols, y)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", run_eagerly=True)
    start = model.get_weights()
    target = np.ones((B, 1), "float32")

    def step(keys, values):
        model.set_weights(start)
        model.train_on_batch({"q": q, "k": keys, "v": values, "mask": mask}, target)
        return model.get_weights()

    clean = step(fill_padding(k, mask, 0.0, 0), fill_padding(v, mask, 0.0, 0))
    dirty = step(fill_padding(k, mask, np.nan, 0), fill_padding(v, mask, np.nan, 0))
    assert any(not np.array_equal(a, b) for a, b in zip(start, clean)), "the step changed nothing"
    for a, b in zip(dirty, clean):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
