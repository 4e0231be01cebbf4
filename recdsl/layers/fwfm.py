"""Field-weighted factorization machine."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from recdsl.layers.pairs import upper_pairs


@keras.saving.register_keras_serializable(package="recdsl")
class FieldWeightedFM(keras.layers.Layer):
    """Second-order FwFM term of fields v [B, F, d] -> [B, 1], F >= 2:

        y = sum_{i<j} r_ij <v_i, v_j>,    r [F(F-1)/2], one learned weight per field pair

    (pairs in row-major order (0,1), (0,2), ..., (1,2), ...). Each feature is its own field
    here, so r_{F(i)F(j)} is r_ij. Pan et al., "Field-weighted Factorization Machines for
    Click-Through Rate Prediction in Display Advertising", WWW 2018.
    """

    def build(self, input_shape):
        f = input_shape[-2]
        if f < 2:
            raise ValueError(f"FieldWeightedFM needs at least two fields, got {f}")
        first, second = upper_pairs(f)
        self.first, self.second = np.asarray(first, "int32"), np.asarray(second, "int32")
        self.pair_weight = self.add_weight(name="pair_weight", shape=(len(first),), initializer="ones")

    def call(self, inputs):
        left = ops.take(inputs, self.first, axis=1)      # [B, P, d]
        right = ops.take(inputs, self.second, axis=1)
        products = ops.sum(left * right, axis=-1)          # [B, P]
        return ops.sum(products * self.pair_weight, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)
