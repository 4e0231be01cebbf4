"""Attentional factorization machine."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from recdsl.layers.pairs import upper_pairs


@keras.saving.register_keras_serializable(package="recdsl")
class AttentionalFM(keras.layers.Layer):
    """AFM over fields v [B, F, d], F >= 2: attention over the pairwise element-wise products.

        e_ij = v_i * v_j                                  [B, P, d], i < j, P = F(F-1)/2
        a_ij = softmax_ij( h . relu(W e_ij + b) )         W [d, t], b [t], h [t]   (t = units)
        s    = sum_ij a_ij e_ij                           [B, d]   (reduce=False)
        y    = p . s                                      [B, 1]   (reduce=True), p [d]

    with dropout on s while training. Xiao et al., "Attentional Factorization Machines:
    Learning the Weight of Feature Interactions via Attention Networks", IJCAI 2017.
    """

    def __init__(self, units=8, dropout=0.0, reduce=True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.dropout, self.reduce = units, dropout, reduce
        self.drop = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        f, d = input_shape[-2], input_shape[-1]
        if f < 2:
            raise ValueError(f"AttentionalFM needs at least two fields, got {f}")
        first, second = upper_pairs(f)
        self.first, self.second = np.asarray(first, "int32"), np.asarray(second, "int32")
        self.kernel = self.add_weight(name="kernel", shape=(d, self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.score = self.add_weight(name="score", shape=(self.units,), initializer="glorot_uniform")
        if self.reduce:
            self.projection = self.add_weight(name="projection", shape=(d,), initializer="glorot_uniform")

    def call(self, inputs, training=None):
        pairs = ops.take(inputs, self.first, axis=1) * ops.take(inputs, self.second, axis=1)   # [B, P, d]
        hidden = ops.relu(ops.matmul(pairs, self.kernel) + self.bias)                             # [B, P, t]
        logits = ops.sum(hidden * self.score, axis=-1)                                            # [B, P]
        # one pair (two fields): its weight is 1 (Keras warns about a softmax over one value)
        weights = ops.ones_like(logits) if len(self.first) == 1 else ops.softmax(logits, axis=-1)
        pooled = self.drop(ops.sum(pairs * weights[..., None], axis=1), training=training)     # [B, d]
        if not self.reduce:
            return pooled
        return ops.sum(pooled * self.projection, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1 if self.reduce else input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "dropout": self.dropout, "reduce": self.reduce}
