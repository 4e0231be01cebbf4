"""GDCN's gated cross network."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recdsl")
class GatedCross(keras.layers.Layer):
    """Gated cross layers over x0 [B, n] -> [B, n], `layers` times:

        x_{l+1} = x0 * (W_l x_l + b_l) * sigmoid(W_g,l x_l) + x_l     W_l, W_g,l [n, n], b_l [n]

    (the information gate sigmoid(W_g x_l) weighs every cross feature). Wang et al., "Towards
    Deeper, Lighter and Interpretable Cross Network for CTR Prediction" (GDCN), CIKM 2023.
    """

    def __init__(self, layers=3, **kwargs):
        super().__init__(**kwargs)
        self.depth = layers

    def build(self, input_shape):
        n = input_shape[-1]
        self.kernels, self.gates, self.biases = [], [], []
        for i in range(self.depth):
            self.kernels.append(self.add_weight(name=f"w_{i}", shape=(n, n), initializer="glorot_uniform"))
            self.gates.append(self.add_weight(name=f"g_{i}", shape=(n, n), initializer="glorot_uniform"))
            self.biases.append(self.add_weight(name=f"b_{i}", shape=(n,), initializer="zeros"))

    def call(self, inputs):
        x0 = x = inputs
        for kernel, gate, bias in zip(self.kernels, self.gates, self.biases):
            # W x for a row vector x is x W^T
            x = x0 * (ops.matmul(x, ops.transpose(kernel)) + bias) * ops.sigmoid(
                ops.matmul(x, ops.transpose(gate))) + x
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "layers": self.depth}
