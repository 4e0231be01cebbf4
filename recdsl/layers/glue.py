"""Wiring layers the emitter puts between nodes: stacking fields, joining widths, padding masks."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.ops.rows import PADDING_ROW

MODES = ("stack", "join")


@keras.saving.register_keras_serializable(package="recdsl")
class FieldJoin(keras.layers.Layer):
    """Combine the members of one input slot.

        stack: fields [B, d] and stacks [B, F_i, d] -> [B, sum F_i, d]
        join:  tensors of one rank concatenated on the last axis -> [..., sum d_i]
    """

    def __init__(self, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"FieldJoin mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def call(self, inputs):
        inputs = list(inputs)
        if self.mode == "stack":
            parts = [ops.expand_dims(x, 1) if len(x.shape) == 2 else x for x in inputs]
            return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=1)
        return inputs[0] if len(inputs) == 1 else ops.concatenate(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if self.mode == "stack":
            count = sum(1 if len(s) == 2 else s[1] for s in shapes)
            return (shapes[0][0], count, shapes[0][-1])
        return shapes[0][:-1] + (sum(s[-1] for s in shapes),)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="recdsl")
class PaddingMask(keras.layers.Layer):
    """ids [B, L] -> bool [B, L], True where the id is not the padding row 0."""

    def call(self, inputs):
        return ops.not_equal(ops.cast(inputs, "int32"), PADDING_ROW)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="bool")
