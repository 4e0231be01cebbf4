"""Padding masks shared by the sequence layers.

A mask is a [B, L] tensor, bool or 0/1, True/1 at valid positions; None means every
position is valid. Values at padded positions are arbitrary (the padding row of an
embedding table, or anything else, even inf or NaN) and reach neither an output nor a
gradient: the layers replace them with 0 by `where` on entry (multiplying by the mask
would turn inf into NaN), and zero their weights after the softmax.
"""
from __future__ import annotations

from keras import backend, ops

#: Logit given to masked positions: finite in float16 (max 65504) and bfloat16.
MASK_VALUE = -3.0e4


def valid_mask(mask, length_of):
    """`mask` as a bool [B, L] tensor, or an all-True one shaped like `length_of[:, :, 0]`.

    When no mask is passed, Keras fills `mask` from the inputs' implicit masks, one
    per input; for [query, keys(, values)] inputs the keys' entry is the one that counts.
    """
    if isinstance(mask, (list, tuple)):
        mask = mask[1] if len(mask) > 1 else mask[0]
    if mask is None:
        return ops.ones_like(length_of[:, :, 0], dtype="bool")
    mask = ops.convert_to_tensor(mask)
    if backend.standardize_dtype(mask.dtype) == "bool":
        return mask
    return ops.greater(mask, ops.cast(0.5, mask.dtype))


def zero_padded(x, mask):
    """x [B, L, ...] with padded positions set to 0."""
    m = mask
    for _ in range(len(x.shape) - 2):
        m = ops.expand_dims(m, -1)
    return ops.where(m, x, ops.zeros_like(x))


def masked_softmax(logits, mask, axis=-1):
    """Softmax of `logits` over `axis` where `mask` (broadcastable to logits) is True.

    Masked logits get MASK_VALUE, and the weights are zeroed after the softmax, so a
    row with no valid position gives exactly zeros instead of a uniform average or NaN.
    """
    logits = ops.where(mask, logits, ops.cast(MASK_VALUE, logits.dtype))
    weights = ops.softmax(logits, axis=axis)
    return ops.where(mask, weights, ops.zeros_like(weights))


def valid_count(mask, dtype):
    """Number of valid positions per row, [B, 1], in `dtype`."""
    return ops.sum(ops.cast(mask, dtype), axis=1, keepdims=True)


class ExplicitMask:
    """Mixin for layers that take `mask=` as an argument: their outputs carry no implicit
    Keras mask (the emitter passes masks explicitly), and Keras does not warn that one is lost."""

    def compute_mask(self, inputs, previous_mask=None):
        return None
