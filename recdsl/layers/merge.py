"""Merging several values into one: concat, add, subtract, multiply."""
from __future__ import annotations

import math

import keras
from keras import ops

MODES = ("concat", "add", "subtract", "multiply")


@keras.saving.register_keras_serializable(package="recdsl")
class Merge(keras.layers.Layer):
    """Merge a list of inputs.

        concat:   flatten each x_i [B, ...] to [B, n_i], then concatenate -> [B, sum n_i]
        add:      x_1 + x_2 + ...   (one shape)
        subtract: x_1 - x_2         (one shape, exactly two inputs)
        multiply: x_1 * x_2 * ...   (one shape)

    The concatenation is the "embedding & MLP" input of Wide & Deep, Cheng et al., 2016.
    """

    def __init__(self, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"Merge mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def call(self, inputs):
        inputs = list(inputs)
        if self.mode == "concat":
            flat = [ops.reshape(x, (-1, math.prod(x.shape[1:]))) for x in inputs]
            return flat[0] if len(flat) == 1 else ops.concatenate(flat, axis=-1)
        if self.mode == "subtract":
            if len(inputs) != 2:
                raise ValueError(f"Merge subtract takes exactly two inputs, got {len(inputs)}")
            return inputs[0] - inputs[1]
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x if self.mode == "add" else out * x
        return out

    def compute_output_shape(self, input_shape):
        if self.mode == "concat":
            return (input_shape[0][0], sum(math.prod(s[1:]) for s in input_shape))
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
