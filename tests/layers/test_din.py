import numpy as np
import pytest

from recdsl.layers.din import DinAttention
from recdsl.ops.types import FieldType, SeqType

from . import reference as ref
from .layer_check import (
    assert_close,
    central_difference,
    check_layer,
    check_mixed,
    gradients,
    lengths_mask,
    randomize,
    registry_count,
    rng,
    to_numpy,
    weight,
)

B, L, D = 6, 5, 4


def din_reference(layer, q, k, mask, kernel=None):
    """The DIN unit as in the paper: a plain Dense over the concatenation [q, k, q-k, q*k]
    (with the layer's first kernel, or `kernel` instead)."""
    qb = np.broadcast_to(q[:, None, :], k.shape)
    kernel = weight(layer.kernel) if kernel is None else kernel
    h = np.concatenate([qb, k, qb - k, qb * k], axis=-1) @ kernel + weight(layer.bias)
    for i, act in enumerate(layer.activations):
        if i > 0:
            h = ref.dense(layer.hidden[i - 1], h)
        h = ref.activation(act, layer.activation, h)
    logits = ref.dense(layer.score, h)[..., 0]
    w = ref.softmax(logits, mask) if layer.normalize == "softmax" else np.where(mask, logits, 0.0)
    weighted = w[..., None] * np.where(mask[..., None], k, 0.0)
    return weighted.sum(1) if layer.output_mode == "pooled" else weighted


def inputs(seed):
    r = rng(seed)
    q = r.normal(size=(B, D)).astype("float32")
    k = r.normal(size=(B, L, D)).astype("float32")
    return q, k, lengths_mask([5, 0, 2, 3, 1, 4], L)


def make(seed, **kwargs):
    q, k, _ = inputs(0)
    layer = DinAttention(**kwargs)
    layer.build([q.shape, k.shape])
    randomize(layer, seed)
    return layer


CASES = [
    dict(units=[6, 3]),
    dict(units=[5], activation="prelu", normalize="softmax"),
    dict(units=[4, 3], activation="sigmoid", output="sequence"),
    dict(units=[3], activation="relu", normalize="softmax", output="sequence"),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_matches_concatenation_reference(kwargs, tmp_path):
    layer = make(1, **kwargs)
    q, k, mask = inputs(2)
    params = registry_count("din", {"query": FieldType(D), "keys": SeqType(L, D)},
                            {k_: v for k_, v in kwargs.items()})
    out = check_layer(layer, [q, k], mask=mask, params=params, tmp_path=tmp_path)
    assert_close(out, din_reference(layer, q.astype("float64"), k.astype("float64"), mask))
    assert np.all(out[1] == 0.0)


@pytest.mark.parametrize("kwargs", [dict(units=[5, 3], activation="sigmoid"),
                                    dict(units=[4], activation="tanh", normalize="softmax", output="sequence")])
def test_gradients_match_finite_differences_of_the_reference(kwargs):
    """The keys term's hand-written backward (query, keys and the first kernel) against
    central differences of the concatenation reference, in float64."""
    layer = make(3, **kwargs)
    q, k, mask = inputs(4)
    out = din_reference(layer, q.astype("float64"), k.astype("float64"), mask)
    cot = rng(5).normal(size=out.shape)
    got_q, got_k, got_kernel = gradients(layer, [q, k], cot.astype("float32"), mask=mask)[:3]

    def loss(q_, k_, kernel):
        return float(np.sum(cot * din_reference(layer, q_, k_, mask, kernel=kernel)))

    q64, k64, w64 = q.astype("float64"), k.astype("float64"), weight(layer.kernel)
    assert_close(got_q, central_difference(lambda v: loss(v, k64, w64), q64), rtol=1e-4)
    assert_close(got_k, central_difference(lambda v: loss(q64, v, w64), k64), rtol=1e-4)
    assert_close(got_kernel, central_difference(lambda v: loss(q64, k64, v), w64), rtol=1e-4)
    assert np.all(got_k[~mask] == 0.0)


def test_no_mask_means_all_valid():
    layer = make(3, units=[4])
    q, k, _ = inputs(4)
    assert_close(layer([q, k]), din_reference(layer, q, k, np.ones((B, L), bool)))


@pytest.mark.parametrize("normalize", ["none", "softmax"])
def test_pooled_invariant_to_history_order_and_padding(normalize):
    layer = make(5, units=[4, 2], normalize=normalize)
    q, k, mask = inputs(6)
    base = to_numpy(layer([q, k], mask=mask))
    junk = np.where(mask[..., None], k, rng(7).normal(size=k.shape) * 100).astype("float32")
    assert_close(layer([q, junk], mask=mask), base)
    shuffled = k.copy()
    for b, n in enumerate(mask.sum(1)):
        shuffled[b, :n] = k[b, rng(8 + b).permutation(n)]
    assert_close(layer([q, shuffled], mask=mask), base)


def test_dice_training_ignores_padding():
    layer = make(9, units=[4, 2])
    q, k, mask = inputs(10)
    base = to_numpy(layer([q, k], mask=mask, training=True))
    junk = np.where(mask[..., None], k, 50.0).astype("float32")
    assert_close(layer([q, junk], mask=mask, training=True), base)


def test_fully_padded_rows_give_zeros():
    layer = make(11, units=[4], normalize="softmax")
    q, k, _ = inputs(12)
    out = to_numpy(layer([q, k], mask=np.zeros((B, L), bool)))
    assert np.all(out == 0.0)


def test_shared_instance_on_two_inputs():
    layer = make(13, units=[3])
    q, k, mask = inputs(14)
    first = to_numpy(layer([q, k], mask=mask))
    second = to_numpy(layer([k[:, 0], k], mask=mask))
    assert_close(second, din_reference(layer, k[:, 0], k, mask))
    assert first.shape == second.shape


@pytest.mark.parametrize("kwargs", CASES[:2])
def test_mixed_precision(kwargs):
    q, k, mask = inputs(15)
    mask[2] = False
    check_mixed(lambda dtype: DinAttention(dtype=dtype, **kwargs), [q, k], mask=mask, training=True)
    check_mixed(lambda dtype: DinAttention(dtype=dtype, **kwargs), [q, k], mask=mask)


def test_rejects_mismatched_widths():
    with pytest.raises(ValueError, match="query width"):
        DinAttention(units=[2])([np.zeros((2, 3), "float32"), np.zeros((2, 4, 5), "float32")])


def test_trains_end_to_end_and_predicts_under_xla(tmp_path):
    """Embedding (mini-batch-aware L2) -> DIN -> head trains, and predicts the same under XLA."""
    import keras

    from recdsl.layers.embedding import FeatureEmbedding
    from recdsl.layers.head import PredictionHead
    from recdsl.layers.merge import Merge

    table = FeatureEmbedding(10, D, l2=1e-3)
    item, hist = keras.Input((), dtype="int32"), keras.Input((L,), dtype="int32")
    mask = keras.Input((L,), dtype="bool")
    q, k = table(item), table(hist)
    interest = DinAttention(units=[4, 2])([q, k], mask=mask)
    model = keras.Model([item, hist, mask], PredictionHead()(Merge("concat")([q, interest])))
    model.compile("adam", "binary_crossentropy", jit_compile=False)
    r = rng(16)
    hist_ids = r.integers(2, 10, size=(8, L)).astype("int32")
    valid = lengths_mask([5, 0, 2, 3, 1, 4, 5, 1], L)
    hist_ids[~valid] = 0
    x = [r.integers(2, 10, size=(8,)).astype("int32"), hist_ids, valid]
    history = model.fit(x, r.integers(0, 2, size=(8, 1)).astype("float32"), epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    model(x)
    assert len(model.losses) == 2          # one penalty per call of the shared table
    eager = model.predict(x, verbose=0)
    # XLA under TensorFlow / JAX; under PyTorch jit_compile=True is torch.compile, which costs
    # minutes on a CPU runner, so the torch run checks the eager path twice (as "auto" would).
    model.compile("adam", "binary_crossentropy", jit_compile=keras.backend.backend() != "torch")
    assert_close(model.predict(x, verbose=0), eager)
