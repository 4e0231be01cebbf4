"""Masked sum / mean / max over a bag or sequence."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, valid_count, valid_mask, zero_padded

POOL_MODES = ("sum", "avg", "max")


@keras.saving.register_keras_serializable(package="recdsl")
class MaskedPool(ExplicitMask, keras.layers.Layer):
    """Pool the valid positions of x [B, L, d] (mask [B, L]) -> [B, d].

    sum: sum_l m_l x_l
    avg: sum_l m_l x_l / max(sum_l m_l, 1)
    max: max_{l: m_l} x_l, and 0 for a row with no valid position

    An empty bag gives zeros in every mode. (Sum/mean pooling of multi-hot features,
    the "embedding & pooling" layer of YouTube DNN, Covington et al., RecSys 2016.)
    """

    def __init__(self, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in POOL_MODES:
            raise ValueError(f"MaskedPool mode must be one of {POOL_MODES}, got {mode!r}")
        self.mode = mode

    def call(self, inputs, mask=None):
        mask = valid_mask(mask, inputs)
        count = valid_count(mask, inputs.dtype)
        # Padded positions hold 0 from here on, whatever was stored there (even inf or NaN).
        x = zero_padded(inputs, mask)
        if self.mode == "max":
            # Padded positions take the row's minimum (over valid values and those zeros),
            # which never exceeds a valid value.
            floor = ops.min(x, axis=1, keepdims=True)
            top = ops.max(ops.where(ops.expand_dims(mask, -1), x, floor), axis=1)
            return ops.where(count > 0, top, ops.zeros_like(top))
        total = ops.sum(x, axis=1)
        if self.mode == "sum":
            return total
        return total / ops.maximum(count, ops.ones_like(count))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
