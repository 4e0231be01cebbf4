"""Position encodings against numpy: pos = n-1-l (recent_first) or l (oldest_first), P a learned
table row or the sinusoid, added or concatenated; padding zero, rows independent of their padding."""
import numpy as np
import pytest

from recdsl.layers.positions import PositionEncoding
from recdsl.ops.types import SeqType

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

B, L, D = 6, 5, 4
LENGTHS = [5, 0, 2, 3, 1, 4]


def sinusoid_reference(pos, width):
    out = np.zeros(pos.shape + (width,))
    for i in range(0, width, 2):
        angle = pos / 10000.0 ** (i / width)
        out[..., i] = np.sin(angle)
        if i + 1 < width:
            out[..., i + 1] = np.cos(angle)
    return out


def positions_reference(layer, x, mask):
    length = x.shape[1]
    n = np.array([max((l + 1 for l in range(length) if row[l]), default=0) for row in mask])
    steps = np.arange(length)[None, :]
    pos = n[:, None] - 1 - steps if layer.order == "recent_first" else np.broadcast_to(steps, mask.shape)
    pos = np.where(mask, pos, 0)
    width = layer.dim if layer.mode == "concat" else x.shape[-1]
    if layer.kind == "learned":
        p = weight(layer.table)[pos]
    elif layer.kind == "sinusoidal":
        p = sinusoid_reference(pos.astype("float64"), width)
    else:
        p = np.zeros(pos.shape + (width,))
    x = np.where(mask[..., None], x, 0.0)
    y = x + p if layer.mode == "add" else np.concatenate([x, p], axis=-1)
    return np.where(mask[..., None], y, 0.0)


def inputs(seed, length=L, lengths=LENGTHS):
    x = rng(seed).normal(size=(len(lengths), length, D)).astype("float32")
    return x, lengths_mask(lengths, length)


CASES = [dict(), dict(kind="sinusoidal"), dict(kind="learned", order="oldest_first"),
         dict(kind="sinusoidal", mode="concat", dim=6, order="oldest_first"), dict(kind="learned", mode="concat", dim=3),
         dict(kind="sinusoidal", mode="concat", dim=5), dict(kind="none", mode="concat", dim=2), dict(kind="none")]


@pytest.mark.parametrize("kwargs", CASES)
def test_matches_numpy(kwargs, tmp_path):
    x, mask = inputs(1)
    layer = PositionEncoding(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2)
    params = registry_count("positions", {"x": SeqType(L, D)}, kwargs)
    out = check_layer(layer, x, mask=mask, params=params, tmp_path=tmp_path)
    assert_close(out, positions_reference(layer, x.astype("float64"), mask))
    assert np.all(out[1] == 0.0) and np.all(out[~mask] == 0.0)  # padding and all-padding rows stay 0


@pytest.mark.parametrize("kwargs", CASES[:4])
def test_a_mask_with_holes_counts_from_the_last_valid_position(kwargs):
    """Masks are valid-first in recdsl's inputs; any other pattern still encodes pos from the row's
    last valid position (n = 1 + its index) and zeroes the holes."""
    x, _ = inputs(7)
    mask = np.array([[1, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 1, 1, 0, 1], [1, 1, 0, 1, 1], [0] * 5, [1] * 5], bool)
    layer = PositionEncoding(**kwargs)
    layer.build(x.shape)
    randomize(layer, 8)
    assert_close(layer(x, mask=mask), positions_reference(layer, x.astype("float64"), mask))


def test_recent_first_gives_the_newest_item_position_zero():
    x, mask = np.zeros((B, L, D), "float32"), lengths_mask(LENGTHS, L)
    out = to_numpy(PositionEncoding(kind="sinusoidal")(x, mask=mask))
    for b, n in enumerate(LENGTHS):
        if n:
            np.testing.assert_allclose(out[b, n - 1], [0.0, 1.0, 0.0, 1.0], atol=1e-7)   # PE(0)
            np.testing.assert_allclose(out[b, 0], sinusoid_reference(np.float64(n - 1), D), atol=1e-6)


@pytest.mark.parametrize("kwargs", CASES[:5])
@pytest.mark.parametrize("built_at", [5, 8])
def test_a_row_encodes_the_same_at_any_padded_length(kwargs, built_at):
    """Length buckets cut padding: a row at max_len 5 and padded to 8 (padding holding junk) gives the
    same outputs, whichever length the layer (its learned table) was built at."""
    x, mask = inputs(3)
    layer = PositionEncoding(**kwargs)
    layer.build((None, built_at, D))
    randomize(layer, 4)
    long_x = np.full((B, 8, D), np.inf, "float32")
    long_x[:, :L] = np.where(mask[..., None], x, np.nan)
    long_mask = lengths_mask(LENGTHS, 8)
    short, long = to_numpy(layer(x, mask=mask)), to_numpy(layer(long_x, mask=long_mask))
    np.testing.assert_array_equal(long[:, :L], short)
    assert np.all(long[:, L:] == 0.0)


def test_without_a_mask_every_position_is_valid():
    x, _ = inputs(5)
    layer = PositionEncoding(kind="sinusoidal", mode="concat", dim=4)
    assert_close(layer(x), positions_reference(layer, x.astype("float64"), np.ones((B, L), bool)))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="needs dim="):
        PositionEncoding(mode="concat")
    with pytest.raises(ValueError, match="kind must be one of"):
        PositionEncoding(kind="rotary")
    with pytest.raises(ValueError, match="dim=3 differs"):
        PositionEncoding(dim=3).build((None, L, D))


@pytest.mark.parametrize("kwargs", [dict(), dict(kind="sinusoidal", mode="concat", dim=6)])
def test_mixed_precision(kwargs):
    x, mask = inputs(6)
    check_mixed(lambda dtype: PositionEncoding(**kwargs, dtype=dtype), x, mask=mask)
