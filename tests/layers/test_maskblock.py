import numpy as np
import pytest

from recdsl.layers.maskblock import EPSILON, MaskBlock
from recdsl.ops.types import StackType, VectorType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, to_numpy, weight


def layer_norm(x, gamma, beta):
    """LayerNorm over the last axis, then gamma * . + beta (broadcast)."""
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPSILON) * gamma + beta


def maskblock_reference(layer, emb, hidden=None):
    """The paper's MaskBlock written out: mask from the raw embeddings, LN of what is masked,
    relu(LN_HID(W (mask * masked)))."""
    b, f, d = emb.shape
    flat = emb.reshape(b, f * d)
    agg = np.maximum(flat @ weight(layer.aggregation.kernel) + weight(layer.aggregation.bias), 0)
    mask = agg @ weight(layer.projection.kernel) + weight(layer.projection.bias)
    norm = layer.norm or ("none" if hidden is not None else "field")
    if norm == "field":
        masked = layer_norm(emb, weight(layer.gamma), weight(layer.beta)).reshape(b, f * d)
    else:
        masked = flat if hidden is None else hidden
        if norm == "layer":
            masked = layer_norm(masked, weight(layer.gamma), weight(layer.beta))
    h = (mask * masked) @ weight(layer.hidden.kernel)
    return np.maximum(layer_norm(h, weight(layer.output_norm.gamma), weight(layer.output_norm.beta)), 0)


CASES = [  # batch, fields, dim, hidden width (None: mask the embeddings), units, reduction, norm
    (4, 3, 5, None, 6, 2.0, None),
    (1, 2, 4, None, 3, 0.5, "layer"),
    (3, 3, 4, None, 5, 1.0, "none"),
    (4, 3, 4, 7, 5, 1.5, None),
    (1, 2, 3, 6, 4, 1.0, "layer"),
]


@pytest.mark.parametrize("batch, fields, dim, width, units, reduction, norm", CASES)
def test_matches_numpy(batch, fields, dim, width, units, reduction, norm, tmp_path):
    r = rng(1)
    emb = r.normal(size=(batch, fields, dim)).astype("float32")
    hidden = None if width is None else r.normal(size=(batch, width)).astype("float32")
    inputs = emb if hidden is None else [emb, hidden]
    layer = MaskBlock(units=units, reduction=reduction, norm=norm)
    layer.build(emb.shape if hidden is None else [emb.shape, hidden.shape])
    randomize(layer, 2)
    slots = {"fields": StackType(fields, dim)}
    if width is not None:
        slots["hidden"] = VectorType(width)
    params = registry_count("maskblock", slots, {"units": units, "reduction": reduction, "norm": norm})
    out = check_layer(layer, inputs, params=params, tmp_path=tmp_path)
    expected = maskblock_reference(layer, emb.astype("float64"), None if hidden is None else hidden.astype("float64"))
    assert_close(out, expected)


def test_parameters_by_hand():
    """F=3, d=4 masked (n=12), reduction 2 (24 aggregation neurons), 5 units, per-field LN."""
    count = registry_count("maskblock", {"fields": StackType(3, 4)}, {"units": 5, "reduction": 2.0})
    assert count == (12 * 24 + 24) + (24 * 12 + 12) + 2 * 12 + 12 * 5 + 2 * 5


def test_the_mask_comes_from_the_raw_embeddings():
    """Two rows whose embeddings differ only by a per-field shift normalise to the same values,
    but their masks differ, so their outputs do too (the mask is instance-guided)."""
    emb = rng(3).normal(size=(1, 2, 4)).astype("float32")
    shifted = emb + np.asarray([[[1.0], [-2.0]]], "float32")
    layer = MaskBlock(units=8)
    layer.build(emb.shape)
    randomize(layer, 4)
    layer.output_norm.beta.assign(np.ones(8, "float32"))  # keep the outputs clear of relu's zeros
    a, b = to_numpy(layer(emb)), to_numpy(layer(shifted))
    assert not np.allclose(a, b)
    ones = MaskBlock(units=8)
    ones.build(emb.shape)
    ones.set_weights(layer.get_weights())
    ones.projection.kernel.assign(np.zeros(ones.projection.kernel.shape, "float32"))  # mask = b2 for every row
    assert_close(ones(emb), ones(shifted))


def test_dropout_only_in_training():
    emb = rng(5).normal(size=(8, 3, 4)).astype("float32")
    layer, plain = MaskBlock(units=16, dropout=0.5), MaskBlock(units=16)
    layer.build(emb.shape)
    plain.build(emb.shape)
    randomize(layer, 6)
    plain.set_weights(layer.get_weights())
    assert_close(layer(emb, training=False), plain(emb))
    dropped, full = to_numpy(layer(emb, training=True)), to_numpy(plain(emb))
    kept = dropped != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(dropped[kept], 2 * full[kept], rtol=1e-5)


def test_refuses_per_field_norm_on_a_hidden_vector():
    layer = MaskBlock(units=3, norm="field")
    with pytest.raises(ValueError, match="norm='field' normalises embedding fields"):
        layer.build([(None, 2, 4), (None, 5)])
    with pytest.raises(ValueError, match="norm must be one of"):
        MaskBlock(units=3, norm="batch")


@pytest.mark.parametrize("hidden", [False, True])
def test_mixed_precision(hidden):
    r = rng(7)
    emb = r.normal(size=(4, 3, 4)).astype("float32")
    inputs = [emb, r.normal(size=(4, 5)).astype("float32")] if hidden else emb
    check_mixed(lambda dtype: MaskBlock(units=6, reduction=2.0, norm="layer" if hidden else None, dtype=dtype),
                inputs)
