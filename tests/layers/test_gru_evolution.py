"""InterestEvolution (DIEN's AUGRU, AGRU, AIGRU) against numpy: DIN-unit attention softmaxed over the
valid steps, then the attention-steered GRU step by step; padding, an all-padding row, a batch of
one, one step."""
import numpy as np
import pytest

from recdsl.layers.interest_evolution import InterestEvolution
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
from .test_gru import gru_reference

B, L, D = 6, 5, 4
LENGTHS = [5, 0, 2, 3, 1, 4]


def attention_reference(layer, q, states, mask):
    """a [B, L]: the DIN unit on the concatenation [q, h, q - h, q * h], softmax over valid steps."""
    unit = layer.attention
    qb = np.broadcast_to(q[:, None, :], states.shape)
    h = np.concatenate([qb, states, qb - states, qb * states], axis=-1) @ weight(unit.kernel) + weight(unit.bias)
    for i, act in enumerate(unit.activations):
        if i > 0:
            h = ref.dense(unit.hidden[i - 1], h)
        h = ref.activation(act, unit.activation, h)
    return ref.softmax(ref.dense(unit.score, h)[..., 0], mask)


def evolution_reference(layer, q, states, mask):
    states = np.where(mask[..., None], states, 0.0)
    a = attention_reference(layer, q, states, mask)
    if layer.variant == "aigru":
        return gru_reference(layer, states * a[..., None], mask)[1]
    return gru_reference(layer, states, mask, attention=a, update=layer.variant)[1]


def inputs(seed, lengths=LENGTHS, length=L):
    r = rng(seed)
    q = r.normal(size=(len(lengths), D)).astype("float32")
    h = r.normal(size=(len(lengths), length, D)).astype("float32")
    return q, h, lengths_mask(lengths, length)


def make(seed, q, h, **kwargs):
    layer = InterestEvolution(**kwargs)
    layer.build([q.shape, h.shape])
    randomize(layer, seed)  # biases, dice slopes and moving statistics away from their start
    return layer


CASES = [
    dict(),
    dict(variant="agru", units=3, att_units=[5], att_activation="prelu", alpha_init=0.2),
    dict(variant="aigru", reset_after=True, att_units=[6, 3], att_activation="sigmoid"),
    dict(variant="augru", units=2, reset_after=True, att_activation="relu"),
    dict(variant="agru", reset_after=True),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_matches_numpy(kwargs, tmp_path):
    q, h, mask = inputs(1)
    layer = make(2, q, h, **kwargs)
    params = registry_count("augru", {"query": FieldType(D), "keys": SeqType(L, D)}, kwargs)
    out = check_layer(layer, [q, h], mask=mask, params=params, tmp_path=tmp_path)
    assert_close(out, evolution_reference(layer, q.astype("float64"), h.astype("float64"), mask))
    assert np.all(out[1] == 0.0)  # an all-padding row: zeros, not NaN


@pytest.mark.filterwarnings("ignore:You are using a softmax over axis")  # one step: a = 1
@pytest.mark.parametrize("variant", ["augru", "agru", "aigru"])
@pytest.mark.parametrize("lengths,length", [([3], 4), ([0], 4), ([1, 0], 1)])
def test_batch_of_one_and_one_step(variant, lengths, length):
    q, h, mask = inputs(3, lengths, length)
    layer = make(4, q, h, variant=variant, att_units=[3])
    assert_close(layer([q, h], mask=mask), evolution_reference(layer, q.astype("float64"), h.astype("float64"), mask))


def test_attention_is_a_softmax_over_valid_steps():
    q, h, mask = inputs(5)
    layer = make(6, q, h)
    w = to_numpy(layer.attention_weights([q, h], mask=mask))
    assert np.all(w[~mask] == 0.0)
    np.testing.assert_allclose(w[mask.any(1)].sum(1), 1.0, rtol=1e-5)
    assert_close(w, attention_reference(layer, q.astype("float64"), h.astype("float64"), mask))


@pytest.mark.parametrize("variant", ["augru", "agru", "aigru"])
def test_padded_steps_change_nothing(variant):
    q, h, mask = inputs(7)
    layer = make(8, q, h, variant=variant)
    base = to_numpy(layer([q, h], mask=mask))
    for junk in (1e4, np.inf):
        changed = np.where(mask[..., None], h, junk).astype("float32")
        np.testing.assert_array_equal(to_numpy(layer([q, changed], mask=mask)), base)
    assert np.all(to_numpy(layer([q, h], mask=mask, training=True))[1] == 0.0)


def test_the_states_order_matters():
    """Unlike a pooled attention, the evolution reads the states in order."""
    q, h, mask = inputs(9, [5] * B)
    layer = make(10, q, h)
    assert not np.allclose(to_numpy(layer([q, h[:, ::-1]], mask=mask)), to_numpy(layer([q, h], mask=mask)))


@pytest.mark.parametrize("kwargs", CASES[:2])
def test_mixed_precision(kwargs):
    q, h, mask = inputs(11)
    check_mixed(lambda **kw: InterestEvolution(**kwargs, **kw), [q, h], mask=mask)
