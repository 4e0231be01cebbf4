"""DCN-Mix: a cross network of low-rank experts with gating."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recdsl")
class CrossMixture(keras.layers.Layer):
    """Cross layers over x0 [B, n] -> [B, n], each a gated mixture of K low-rank experts:

        E_{l,i}(x) = x0 * (U_{l,i} g(C_{l,i} g(V_{l,i}^T x)) + b_l)   U, V [n, r], C [r, r], b_l [n]
        G(x)       = softmax_i(x . w_i)                                w_i [n], shared by the layers
        x_{l+1}    = sum_i G_i(x_l) E_{l,i}(x_l) + x_l

    with g = tanh, as DeepCTR's CrossNetMix and the paper's code. Wang et al., "DCN V2: Improved
    Deep & Cross Network and Practical Lessons for Web-scale Learning to Rank Systems", WWW 2021
    (eq. 4, the mixture of low-rank experts).
    """

    def __init__(self, layers=2, experts=4, rank=32, **kwargs):
        super().__init__(**kwargs)
        self.depth, self.experts, self.rank = layers, experts, rank

    def build(self, input_shape):
        n, k, r = input_shape[-1], self.experts, self.rank
        self.u, self.v, self.c, self.biases = [], [], [], []
        for i in range(self.depth):
            self.u.append(self.add_weight(name=f"u_{i}", shape=(k, n, r), initializer="glorot_uniform"))
            self.v.append(self.add_weight(name=f"v_{i}", shape=(k, n, r), initializer="glorot_uniform"))
            self.c.append(self.add_weight(name=f"c_{i}", shape=(k, r, r), initializer="glorot_uniform"))
            self.biases.append(self.add_weight(name=f"b_{i}", shape=(n,), initializer="zeros"))
        self.gate = self.add_weight(name="gate", shape=(n, k), initializer="glorot_uniform")

    def call(self, inputs):
        x0 = x = inputs
        for u, v, c, bias in zip(self.u, self.v, self.c, self.biases):
            low = ops.tanh(ops.einsum("bn,knr->bkr", x, v))                  # [B, K, r]
            low = ops.tanh(ops.einsum("bkr,kqr->bkq", low, c))               # C_i applied: [B, K, r]
            experts = x0[:, None, :] * (ops.einsum("bkr,knr->bkn", low, u) + bias)   # [B, K, n]
            scores = ops.matmul(x, self.gate)                                # [B, K]
            # one expert: its gate is 1 (Keras warns about a softmax over one value)
            gates = ops.ones_like(scores) if self.experts == 1 else ops.softmax(scores, axis=-1)
            x = ops.sum(experts * gates[..., None], axis=1) + x
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "layers": self.depth, "experts": self.experts, "rank": self.rank}
