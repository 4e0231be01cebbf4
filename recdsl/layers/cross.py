"""DCN cross network (v1 and v2, optionally low-rank)."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recdsl")
class CrossNetwork(keras.layers.Layer):
    """Explicit feature crosses x0 [B, n] -> [B, n], `layers` times:

        v2:           x_{l+1} = x0 * (W_l x_l + b_l) + x_l,   W_l [n, n], b_l [n]
        v2, rank r:   W_l = U_l V_l,                          U_l [n, r], V_l [r, n]
        v1:           x_{l+1} = x0 * (x_l . w_l) + b_l + x_l, w_l [n], b_l [n]

    Wang et al., "Deep & Cross Network for Ad Click Predictions", ADKDD 2017 (v1);
    Wang et al., "DCN V2", WWW 2021 (v2).
    """

    def __init__(self, layers=2, version="v2", rank=None, **kwargs):
        super().__init__(**kwargs)
        if version not in ("v1", "v2"):
            raise ValueError(f"CrossNetwork version must be 'v1' or 'v2', got {version!r}")
        if rank is not None and version == "v1":
            raise ValueError("CrossNetwork rank= applies to version v2 only")
        self.depth, self.version, self.rank = layers, version, rank

    def build(self, input_shape):
        n = input_shape[-1]
        self.kernels, self.biases = [], []
        for i in range(self.depth):
            if self.version == "v1":
                kernel = [self.add_weight(name=f"w_{i}", shape=(n,), initializer="glorot_uniform")]
            elif self.rank:
                kernel = [self.add_weight(name=f"u_{i}", shape=(n, self.rank), initializer="glorot_uniform"),
                          self.add_weight(name=f"v_{i}", shape=(self.rank, n), initializer="glorot_uniform")]
            else:
                kernel = [self.add_weight(name=f"w_{i}", shape=(n, n), initializer="glorot_uniform")]
            self.kernels.append(kernel)
            self.biases.append(self.add_weight(name=f"b_{i}", shape=(n,), initializer="zeros"))

    def call(self, inputs):
        x0 = x = inputs
        for kernel, bias in zip(self.kernels, self.biases):
            if self.version == "v1":
                x = x0 * ops.sum(x * kernel[0], axis=-1, keepdims=True) + bias + x
            else:
                # W x for a row vector x is x W^T; low rank: x V^T U^T.
                projected = x
                for factor in reversed(kernel):
                    projected = ops.matmul(projected, ops.transpose(factor))
                x = x0 * (projected + bias) + x
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "layers": self.depth, "version": self.version, "rank": self.rank}
