"""PNN's kernel product of field pairs (OPNN)."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from recdsl.layers.pairs import upper_pairs

KERNELS = ("mat", "vec", "num")


@keras.saving.register_keras_serializable(package="recdsl")
class OuterProduct(keras.layers.Layer):
    """Kernel products of every field pair of v [B, F, d] -> [B, P], P = F(F-1)/2, F >= 2,
    pairs in row-major order (0,1), (0,2), ..., (1,2), ...:

        mat:  k_ij = v_i^T W_ij v_j = <W_ij, v_i v_j^T>,   W_ij [d, d]
        vec:  k_ij = sum_k v_ik w_ij,k v_jk   w_ij [d]
        num:  k_ij = w_ij <v_i, v_j>         w_ij a scalar

    Qu et al., "Product-based Neural Networks for User Response Prediction", ICDM 2016; the
    kernel forms are those of DeepCTR's OuterProductLayer.
    """

    def __init__(self, kernel="mat", **kwargs):
        super().__init__(**kwargs)
        if kernel not in KERNELS:
            raise ValueError(f"OuterProduct kernel must be one of {KERNELS}, got {kernel!r}")
        self.kernel_type = kernel

    def build(self, input_shape):
        f, d = input_shape[-2], input_shape[-1]
        if f < 2:
            raise ValueError(f"OuterProduct needs at least two fields, got {f}")
        first, second = upper_pairs(f)
        self.first, self.second = np.asarray(first, "int32"), np.asarray(second, "int32")
        shape = {"mat": (len(first), d, d), "vec": (len(first), d), "num": (len(first), 1)}[self.kernel_type]
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer="glorot_uniform")

    def call(self, inputs):
        left = ops.take(inputs, self.first, axis=1)       # [B, P, d]
        right = ops.take(inputs, self.second, axis=1)
        if self.kernel_type == "mat":
            return ops.einsum("bpi,pij,bpj->bp", left, self.kernel, right)
        return ops.sum(left * right * self.kernel, axis=-1)

    def compute_output_shape(self, input_shape):
        f = input_shape[-2]
        return (input_shape[0], f * (f - 1) // 2)

    def get_config(self):
        return {**super().get_config(), "kernel": self.kernel_type}
