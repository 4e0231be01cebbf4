"""Factorization-machine second-order interaction."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recdsl")
class FMInteraction(keras.layers.Layer):
    """Pairwise interactions of fields v [B, F, d] in O(F d):

        s = 0.5 * ((sum_f v_f)^2 - sum_f v_f^2)     [B, d]  (reduce=False, NFM bi-interaction)
        sum_k s_k                                   [B, 1]  (reduce=True, FM)

    Rendle, "Factorization Machines", ICDM 2010.
    """

    def __init__(self, reduce=True, **kwargs):
        super().__init__(**kwargs)
        self.reduce = reduce

    def call(self, inputs):
        total = ops.sum(inputs, axis=1)
        pairs = 0.5 * (ops.square(total) - ops.sum(ops.square(inputs), axis=1))
        return ops.sum(pairs, axis=-1, keepdims=True) if self.reduce else pairs

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1 if self.reduce else input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "reduce": self.reduce}
