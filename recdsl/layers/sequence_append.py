"""Append a field to a masked sequence as its newest valid position (BST's target item)."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, valid_mask, zero_padded
from recdsl.layers.positions import row_lengths


def appended_at(valid):
    """One-hot bool [B, L + 1], True at n_b: right after row b's last valid position."""
    steps = ops.arange(ops.shape(valid)[1] + 1, dtype="int32")[None, :]
    return ops.equal(steps, row_lengths(valid))


def appended_mask(valid):
    """The mask of the appended sequence, bool [B, L + 1]: the old one, padded, and n_b."""
    padded = ops.concatenate([valid, ops.zeros_like(valid[:, :1])], axis=1)
    return ops.logical_or(padded, appended_at(valid))


def _length_plus_one(shape):
    return None if shape[1] is None else shape[1] + 1


@keras.saving.register_keras_serializable(package="recdsl")
class SequenceAppend(ExplicitMask, keras.layers.Layer):
    """Insert one item per row after the row's last valid position,
    [x [B, L, d], item [B, d]], mask [B, L] -> [B, L + 1, d]:

        n_b      = 1 + index of row b's last valid position   (0 for an empty row)
        y_{b,l}  = x_{b,l}   for valid l,
                   item_b    at l = n_b,
                   0         elsewhere (padding)
        mask'    = [mask, 0] with mask'_{b, n_b} = 1            (SequenceAppendMask)

    The item goes after the valid items, not after the padding, so it is the newest valid
    position (sequences are oldest first) at any padded length. BST appends the target item
    to the user's behaviour sequence before its transformer (Chen et al., 2019).
    """

    def call(self, inputs, mask=None):
        x, item = inputs
        valid = valid_mask(mask, x)
        shifted = ops.pad(zero_padded(x, valid), [[0, 0], [0, 1], [0, 0]])
        at = ops.expand_dims(appended_at(valid), -1)
        return ops.where(at, ops.expand_dims(ops.cast(item, shifted.dtype), 1), shifted)

    def compute_output_shape(self, input_shape):
        seq = tuple(input_shape[0])
        return (seq[0], _length_plus_one(seq), seq[2])


@keras.saving.register_keras_serializable(package="recdsl")
class SequenceAppendMask(ExplicitMask, keras.layers.Layer):
    """The padding mask of SequenceAppend's output, called as it is:
    [x [B, L, d], item [B, d]], mask [B, L] -> bool [B, L + 1]."""

    def call(self, inputs, mask=None):
        return appended_mask(valid_mask(mask, inputs[0]))

    def compute_output_shape(self, input_shape):
        seq = tuple(input_shape[0])
        return (seq[0], _length_plus_one(seq))

    def compute_output_spec(self, inputs, mask=None):
        return keras.KerasTensor(self.compute_output_shape([inputs[0].shape]), dtype="bool")
