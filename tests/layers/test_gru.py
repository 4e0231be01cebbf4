"""MaskedGRU (DIEN's interest extractor) against a numpy step-by-step GRU: both reset forms, masks
with rows of different lengths, an all-padding row, a batch of one, one step; padding that never
matters; the auxiliary loss against a hand-sized numpy computation, and Keras adding it to the
training loss."""
import keras
import numpy as np
import pytest

from recdsl.layers.gru import MaskedGRU
from recdsl.ops.types import SeqType

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
LENGTHS = [5, 0, 2, 3, 1, 4]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def gru_reference(layer, x, mask, attention=None, update="gru", recurrent=None):
    """The recurrence written out per gate and per step in float64: (states [B, L, h], final [B, h]),
    with the layer's weights (or `recurrent` as the recurrent kernel)."""
    W, b = weight(layer.kernel), weight(layer.bias)
    U = weight(layer.recurrent_kernel) if recurrent is None else recurrent
    rb = None if layer.recurrent_bias is None else weight(layer.recurrent_bias)
    h = U.shape[0]
    names = ["r", "c"] if update == "agru" else ["u", "r", "c"]
    cols = {g: slice(i * h, (i + 1) * h) for i, g in enumerate(names)}
    state = np.zeros((x.shape[0], h))
    states = np.zeros((x.shape[0], x.shape[1], h))
    for t in range(x.shape[1]):
        xt = np.where(mask[:, t:t + 1], x[:, t], 0.0)
        gx = {g: xt @ W[:, cols[g]] + b[cols[g]] for g in names}
        if rb is None:
            r = sigmoid(gx["r"] + state @ U[:, cols["r"]])
            cand = np.tanh(gx["c"] + (r * state) @ U[:, cols["c"]])
        else:
            r = sigmoid(gx["r"] + state @ U[:, cols["r"]] + rb[cols["r"]])
            cand = np.tanh(gx["c"] + r * (state @ U[:, cols["c"]] + rb[cols["c"]]))
        if update == "agru":
            u = attention[:, t:t + 1]
        else:
            u = sigmoid(gx["u"] + state @ U[:, cols["u"]] + (0 if rb is None else rb[cols["u"]]))
            if update == "augru":
                u = attention[:, t:t + 1] * u
        new = (1 - u) * state + u * cand
        valid = mask[:, t:t + 1]
        state = np.where(valid, new, state)
        states[:, t] = np.where(valid, new, 0.0)
    return states, state


def aux_reference(layer, x, mask, states):
    """L_aux by the docstring's rule, looping over rows and steps: negatives from the previous row."""
    terms = []
    n = x.shape[0]
    for i in range(n):
        for t in range(x.shape[1] - 1):
            if not (mask[i, t] and mask[i, t + 1] and mask[(i - 1) % n, t + 1]):
                continue
            pos, neg = x[i, t + 1], x[(i - 1) % n, t + 1]
            s_pos, s_neg = (aux_score(layer, states[i, t], e) for e in (pos, neg))
            terms.append(-np.log(sigmoid(s_pos)) - np.log(1 - sigmoid(s_neg)))
    return np.float64(np.mean(terms)) if terms else np.float64(0.0)


def aux_score(layer, h, e):
    if layer.aux_net == "dot":
        return float(h @ e)
    z = np.concatenate([h, e])
    for i, dense in enumerate(layer.aux_layers):
        z = z @ weight(dense.kernel) + weight(dense.bias)
        if i + 1 < len(layer.aux_layers):
            z = sigmoid(z)
    return float(z[0])


def inputs(seed, lengths=LENGTHS, length=L, dim=D):
    x = rng(seed).normal(size=(len(lengths), length, dim)).astype("float32")
    return x, lengths_mask(lengths, length)


def make(seed, x, **kwargs):
    layer = MaskedGRU(**kwargs)
    layer.build(x.shape)
    randomize(layer, seed)  # biases (and the recurrent bias) away from zero
    return layer


CASES = [
    dict(units=3),
    dict(units=5, reset_after=True),
    dict(output="final"),
    dict(units=2, output="final", reset_after=True, aux_loss=0.5, aux_units=[6, 3]),
    dict(aux_loss=1.0, aux_net="dot"),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_matches_numpy_step_by_step(kwargs, tmp_path):
    x, mask = inputs(1)
    layer = make(2, x, **kwargs)
    params = registry_count("gru", {"x": SeqType(L, D)}, kwargs)
    out = check_layer(layer, x, mask=mask, params=params, tmp_path=tmp_path)
    states, final = gru_reference(layer, x.astype("float64"), mask)
    assert_close(out, states if layer.output_mode == "sequence" else final)
    assert np.all(out[1] == 0.0)  # an all-padding row: zeros, not NaN
    if layer.output_mode == "sequence":
        assert np.all(out[~mask] == 0.0)


@pytest.mark.parametrize("lengths,length", [([3], 4), ([0], 4), ([1, 0, 1], 1), ([2], 1 + 1)])
def test_batch_of_one_and_one_step(lengths, length):
    x, mask = inputs(3, lengths, length)
    for output in ("sequence", "final"):
        layer = make(4, x, units=3, output=output)
        states, final = gru_reference(layer, x.astype("float64"), mask)
        assert_close(layer(x, mask=mask), states if output == "sequence" else final)


def test_final_state_is_the_state_at_the_last_valid_step():
    x, mask = inputs(5)
    layer = make(6, x, units=3)
    states = to_numpy(layer(x, mask=mask))
    last = make(6, x, units=3, output="final")
    final = to_numpy(last(x, mask=mask))
    for row, n in enumerate(LENGTHS):
        assert_close(final[row], states[row, n - 1] if n else np.zeros(3))


def test_padded_steps_change_nothing():
    """Whatever a padded step holds (huge values, inf), outputs and the auxiliary loss stay the same."""
    x, mask = inputs(7)
    layer = make(8, x, units=3, aux_loss=1.0)
    base, aux = to_numpy(layer(x, mask=mask)), to_numpy(layer.auxiliary_loss(x, mask))
    for junk in (1e4, np.inf):
        changed = np.where(mask[..., None], x, junk).astype("float32")
        np.testing.assert_array_equal(to_numpy(layer(changed, mask=mask)), base)
        np.testing.assert_array_equal(to_numpy(layer.auxiliary_loss(changed, mask)), aux)


@pytest.mark.parametrize("reset_after", [False, True])
def test_gradients_match_finite_differences_of_the_reference(reset_after):
    """Backpropagation through the recurrence (each back end's loop) against central differences
    of the numpy GRU, for the inputs and the recurrent kernel, in float64."""
    x, mask = inputs(19, [3, 0, 2], 3, 2)
    layer = make(20, x, units=2, reset_after=reset_after)
    cot = rng(21).normal(size=(3, 3, 2))
    got = gradients(layer, x, cot.astype("float32"), mask=mask)
    got_x, got_recurrent = got[0], got[1 + [w.name for w in layer.trainable_weights].index("recurrent_kernel")]
    x64, u64 = x.astype("float64"), weight(layer.recurrent_kernel)

    def loss(x_, u_):
        return float(np.sum(cot * gru_reference(layer, x_, mask, recurrent=u_)[0]))

    assert_close(got_x, central_difference(lambda v: loss(v, u64), x64), rtol=1e-4)
    assert_close(got_recurrent, central_difference(lambda v: loss(x64, v), u64), rtol=1e-4)
    assert np.all(got_x[~mask] == 0.0)


def test_a_length_known_only_at_run_time():
    """Histories in length buckets reach the layer as [B, None, d]: one compiled model runs any length."""
    x, mask = inputs(22)
    layer = make(23, x, units=3)
    seq, m = keras.Input((None, D)), keras.Input((None,), dtype="bool")
    model = keras.Model([seq, m], layer(seq, mask=m))
    for length in (L, 2):
        got = model.predict([x[:, :length], mask[:, :length]], verbose=0)
        assert_close(got, gru_reference(layer, x[:, :length].astype("float64"), mask[:, :length])[0])


def test_no_mask_means_every_step_is_valid():
    x, _ = inputs(9)
    layer = make(10, x, units=3)
    assert_close(layer(x), gru_reference(layer, x.astype("float64"), np.ones((B, L), bool))[0])


@pytest.mark.parametrize("kwargs", [dict(aux_loss=1.0, aux_units=[5, 3]), dict(aux_loss=2.0, aux_net="dot")])
def test_auxiliary_loss_matches_numpy_on_a_small_case(kwargs):
    # rows of 3, 2, 0 and 3 steps: row 2 pairs with no one; row 3 takes row 2's empty steps as negatives
    x, mask = inputs(11, [3, 2, 0, 3], 3, 2)
    layer = make(12, x, **kwargs)
    states, _ = gru_reference(layer, x.astype("float64"), mask)
    expected = aux_reference(layer, x.astype("float64"), mask, states)
    assert expected > 0
    assert_close(layer.auxiliary_loss(x, mask), expected)
    layer(x, mask=mask, training=True)
    assert len(layer.losses) == 1
    assert_close(layer.losses[0], kwargs["aux_loss"] * expected)
    layer(x, mask=mask)  # inference: no auxiliary loss
    assert not layer.losses


def test_auxiliary_loss_without_any_pair_is_zero():
    x, mask = inputs(13, [1, 0, 1], 3, 2)
    layer = make(14, x, aux_loss=1.0, aux_net="dot")
    assert float(to_numpy(layer.auxiliary_loss(x, mask))) == 0.0


def test_keras_adds_the_auxiliary_loss_to_the_training_loss():
    """train_on_batch reports the data loss of the forward pass plus alpha * L_aux (before the update)."""
    x, mask = inputs(15)
    seq = keras.Input((L, D), name="x")
    m = keras.Input((L,), dtype="bool", name="mask")
    gru = MaskedGRU(units=3, output="final", aux_loss=0.7, aux_units=[4], name="gru")
    head = keras.layers.Dense(1, name="head")
    model = keras.Model([seq, m], head(gru(seq, mask=m)))
    randomize(gru, 16)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    y = rng(17).normal(size=(B, 1)).astype("float32")
    pred = to_numpy(model([x, mask]))
    aux = float(to_numpy(gru.auxiliary_loss(x, mask)))
    loss = model.train_on_batch([x, mask], y, return_dict=True)["loss"]
    assert_close(np.float64(loss), np.mean((pred - y) ** 2) + 0.7 * aux)


@pytest.mark.parametrize("kwargs", CASES[:2])
def test_mixed_precision(kwargs):
    x, mask = inputs(18)
    check_mixed(lambda **kw: MaskedGRU(**kwargs, **kw), x, mask=mask)
