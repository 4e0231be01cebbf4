"""DLRM pairwise dot-product interaction."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from recdsl.layers.pairs import upper_pairs


@keras.saving.register_keras_serializable(package="recdsl")
class DotInteraction(keras.layers.Layer):
    """Pairwise dot products of fields v [B, F, d] -> [B, P]:

        <v_i, v_j> for i < j (P = F(F-1)/2), or i <= j with self_interaction (P = F(F+1)/2),
        in row-major upper-triangle order.

    Naumov et al., "Deep Learning Recommendation Model (DLRM)", 2019.
    """

    def __init__(self, self_interaction=False, **kwargs):
        super().__init__(**kwargs)
        self.self_interaction = self_interaction

    def build(self, input_shape):
        f = input_shape[-2]
        first, second = upper_pairs(f, diagonal=self.self_interaction)
        self.flat_index = np.asarray([i * f + j for i, j in zip(first, second)], dtype="int32")
        self.fields = f

    def call(self, inputs):
        gram = ops.matmul(inputs, ops.transpose(inputs, (0, 2, 1)))   # [B, F, F]
        return ops.take(ops.reshape(gram, (-1, self.fields * self.fields)), self.flat_index, axis=1)

    def compute_output_shape(self, input_shape):
        f = input_shape[-2]
        return (input_shape[0], f * (f + 1) // 2 if self.self_interaction else f * (f - 1) // 2)

    def get_config(self):
        return {**super().get_config(), "self_interaction": self.self_interaction}
