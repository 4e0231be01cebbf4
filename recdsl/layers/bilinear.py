"""FiBiNET bilinear interaction."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from recdsl.layers.pairs import upper_pairs

TYPES = ("field_all", "field_each", "field_interaction")


@keras.saving.register_keras_serializable(package="recdsl")
class BilinearInteraction(keras.layers.Layer):
    """Pairwise bilinear products of fields v [B, F, d] -> [B, F(F-1)/2, d].

        p_ij = (v_i W) * v_j   for i < j, pairs in row-major order (0,1), (0,2), ..., (1,2), ...

    with one W [d, d] for every pair (type="field_all"), one W_i per first field
    i = 0..F-2 (field_each) or one W_ij per pair (field_interaction). Huang et al.,
    "FiBiNET", RecSys 2019.
    """

    def __init__(self, type="field_interaction", **kwargs):  # noqa: A002 - the registry's name
        super().__init__(**kwargs)
        if type not in TYPES:
            raise ValueError(f"BilinearInteraction type must be one of {TYPES}, got {type!r}")
        self.type = type

    def build(self, input_shape):
        f, d = input_shape[-2], input_shape[-1]
        if f < 2:
            raise ValueError(f"BilinearInteraction needs at least two fields, got {f}")
        self.first, self.second = (np.asarray(ix, dtype="int32") for ix in upper_pairs(f))
        count = {"field_all": 1, "field_each": f - 1, "field_interaction": len(self.first)}[self.type]
        self.kernel = self.add_weight(name="kernel", shape=(count, d, d), initializer="glorot_uniform")

    def call(self, inputs):
        left = ops.take(inputs, self.first, axis=1)           # [B, P, d]
        right = ops.take(inputs, self.second, axis=1)
        if self.type == "field_all":
            projected = ops.matmul(left, self.kernel[0])
        else:
            kernel = self.kernel if self.type == "field_interaction" else ops.take(self.kernel, self.first, axis=0)
            projected = ops.einsum("bpd,pde->bpe", left, kernel)
        return projected * right

    def compute_output_shape(self, input_shape):
        f = input_shape[-2]
        return (input_shape[0], f * (f - 1) // 2, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "type": self.type}
