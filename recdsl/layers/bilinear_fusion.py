"""FinalMLP's multi-head bilinear fusion of two streams into one logit."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recdsl")
class BilinearFusion(keras.layers.Layer):
    """Fuse x [B, n] and y [B, m] -> a logit [B, 1]:

        z = b + w_x . x + w_y . y + sum_h x_h^T W_h y_h        w_x [n], w_y [m], W_h [n/H, m/H]

    x_h and y_h are the h-th of `heads` equal chunks of x and y (heads divides n and m). The
    paper gives each head its own b, w_x, w_y; their sum over the heads is the one linear term
    above. heads=1 is the full bilinear form. Mao et al., "FinalMLP: An Enhanced Two-Stream MLP
    Model for CTR Prediction", AAAI 2023 (eq. 5-6).
    """

    def __init__(self, heads=1, **kwargs):
        super().__init__(**kwargs)
        self.heads = int(heads)

    def build(self, input_shape):
        n, m = input_shape[0][-1], input_shape[1][-1]
        for name, width in (("x", n), ("y", m)):
            if width % self.heads:
                raise ValueError(f"BilinearFusion heads={self.heads} must divide the width of {name} ({width})")
        self.w_x = self.add_weight(name="w_x", shape=(n, 1), initializer="glorot_uniform")
        self.w_y = self.add_weight(name="w_y", shape=(m, 1), initializer="glorot_uniform")
        self.w_xy = self.add_weight(name="w_xy", shape=(self.heads, n // self.heads, m // self.heads),
                                    initializer="glorot_normal")
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")

    def call(self, inputs):
        x, y = inputs
        x_heads = ops.reshape(x, (-1, self.heads, x.shape[-1] // self.heads))
        y_heads = ops.reshape(y, (-1, self.heads, y.shape[-1] // self.heads))
        x_w = ops.einsum("bhi,hij->bhj", x_heads, self.w_xy)                    # x_h^T W_h: [B, H, m/H]
        pairs = ops.sum(ops.reshape(x_w * y_heads, (-1, y.shape[-1])), axis=-1, keepdims=True)
        return ops.matmul(x, self.w_x) + ops.matmul(y, self.w_y) + pairs + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)

    def get_config(self):
        return {**super().get_config(), "heads": self.heads}
