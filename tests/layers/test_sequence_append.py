"""Appending an item to a masked sequence against numpy: the item lands right after the row's last
valid position (not after the padding), the mask grows by that position, padding stays zero."""
import numpy as np
import pytest

from recdsl.layers.sequence_append import SequenceAppend, SequenceAppendMask
from recdsl.ops.types import FieldType, SeqType

from .layer_check import check_layer, check_mixed, lengths_mask, registry_count, rng, to_numpy

B, L, D = 6, 5, 3
LENGTHS = [5, 0, 2, 3, 1, 4]


def append_reference(x, item, mask):
    out = np.zeros((x.shape[0], x.shape[1] + 1, x.shape[2]))
    new_mask = np.zeros((x.shape[0], x.shape[1] + 1), bool)
    for b in range(x.shape[0]):
        valid = [l for l in range(x.shape[1]) if mask[b, l]]
        n = valid[-1] + 1 if valid else 0
        out[b, valid] = x[b, valid]
        out[b, n] = item[b]
        new_mask[b, valid + [n]] = True
    return out, new_mask


def inputs(seed, length=L):
    r = rng(seed)
    x = r.normal(size=(B, length, D)).astype("float32")
    return x, r.normal(size=(B, D)).astype("float32"), lengths_mask(LENGTHS, length)


def test_matches_numpy(tmp_path):
    x, item, mask = inputs(1)
    params = registry_count("append", {"x": SeqType(L, D), "item": FieldType(D)})
    out = check_layer(SequenceAppend(), [x, item], mask=mask, params=params, tmp_path=tmp_path)
    want, want_mask = append_reference(x.astype("float64"), item.astype("float64"), mask)
    np.testing.assert_array_equal(out, want.astype("float32"))  # a copy: exact
    got_mask = to_numpy(SequenceAppendMask()([x, item], mask=mask))
    assert got_mask.dtype == bool
    np.testing.assert_array_equal(got_mask, want_mask)
    assert np.all(out[~want_mask] == 0.0)
    # the all-padding row holds the item alone, at position 0; the full row gets it at L
    np.testing.assert_array_equal(out[1, 0], item[1])
    np.testing.assert_array_equal(out[0, L], item[0])


def test_the_mask_layer_saves_and_reloads(tmp_path):
    x, item, mask = inputs(2)
    check_layer(SequenceAppendMask(), [x, item], mask=mask, tmp_path=tmp_path)


def test_a_row_appends_the_same_at_any_padded_length():
    """Length buckets cut padding: at max_len 5 and padded to 8 (padding holding junk) a row's item
    lands at the same position and nothing else changes."""
    x, item, mask = inputs(3)
    long_x = np.full((B, 8, D), np.inf, "float32")
    long_x[:, :L] = np.where(mask[..., None], x, np.nan)
    long_mask = lengths_mask(LENGTHS, 8)
    layer, mask_layer = SequenceAppend(), SequenceAppendMask()
    short, long = to_numpy(layer([x, item], mask=mask)), to_numpy(layer([long_x, item], mask=long_mask))
    np.testing.assert_array_equal(long[:, :L + 1], short)
    assert np.all(long[:, L + 1:] == 0.0)
    short_mask = to_numpy(mask_layer([x, item], mask=mask))
    long_mask_out = to_numpy(mask_layer([long_x, item], mask=long_mask))
    np.testing.assert_array_equal(long_mask_out[:, :L + 1], short_mask)
    assert not long_mask_out[:, L + 1:].any()


def test_a_mask_with_holes_appends_after_the_last_valid_position():
    x, item, _ = inputs(6)
    mask = np.array([[1, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 1, 1, 0, 1], [1, 1, 0, 1, 1], [0] * 5, [1] * 5], bool)
    want, want_mask = append_reference(x.astype("float64"), item.astype("float64"), mask)
    np.testing.assert_array_equal(to_numpy(SequenceAppend()([x, item], mask=mask)), want.astype("float32"))
    np.testing.assert_array_equal(to_numpy(SequenceAppendMask()([x, item], mask=mask)), want_mask)


def test_without_a_mask_the_item_goes_last():
    x, item, _ = inputs(4)
    out = to_numpy(SequenceAppend()([x, item]))
    np.testing.assert_array_equal(out, np.concatenate([x, item[:, None]], axis=1))
    assert to_numpy(SequenceAppendMask()([x, item])).all()


def test_mixed_precision():
    x, item, mask = inputs(5)
    check_mixed(lambda dtype: SequenceAppend(dtype=dtype), [x, item], mask=mask)


@pytest.mark.parametrize("length", [None, 7])
def test_output_shapes(length):
    assert SequenceAppend().compute_output_shape([(None, length, D), (None, D)]) == \
        (None, None if length is None else length + 1, D)
    assert SequenceAppendMask().compute_output_shape([(None, length, D), (None, D)]) == \
        (None, None if length is None else length + 1)
