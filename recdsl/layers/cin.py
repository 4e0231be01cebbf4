"""xDeepFM's compressed interaction network."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.ops.counting import BUILTIN_ACTIVATIONS


@keras.saving.register_keras_serializable(package="recdsl")
class CompressedInteraction(keras.layers.Layer):
    """CIN over fields x0 [B, F, d] -> [B, sum of the kept feature maps]:

        z_l[b, f, h, k] = x0[b, f, k] * x_l[b, h, k]                    [B, F * H_l, d]
        y_l = act(W_l^T z_l + b_l)    (a 1x1 convolution over the F*H_l maps, per dim k)
                                                                          [B, S_l, d], S_l = sizes[l]
        split_half and l not last:  x_{l+1} = y_l[:, :S_l/2],  kept_l = y_l[:, S_l/2:]
        otherwise:                  x_{l+1} = kept_l = y_l
        out = concat_l sum_k kept_l[:, :, k]                              [B, sum_l |kept_l|]

    x_0 = x0 and H_0 = F. Lian et al., "xDeepFM: Combining Explicit and Implicit Feature
    Interactions for Recommender Systems", KDD 2018.
    """

    def __init__(self, sizes=(128, 128), split_half=True, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.sizes, self.split_half, self.activation = [int(s) for s in sizes], split_half, activation
        if activation not in BUILTIN_ACTIVATIONS:
            raise ValueError(f"CompressedInteraction activation must be one of {BUILTIN_ACTIVATIONS}, "
                             f"got {activation!r}")
        if split_half and any(s % 2 for s in self.sizes[:-1]):
            raise ValueError(f"CompressedInteraction split_half needs even sizes before the last, got {self.sizes}")

    def build(self, input_shape):
        fields, hidden = input_shape[-2], input_shape[-2]
        self.kernels, self.biases = [], []
        for i, size in enumerate(self.sizes):
            self.kernels.append(self.add_weight(name=f"w_{i}", shape=(fields * hidden, size),
                                                initializer="glorot_uniform"))
            self.biases.append(self.add_weight(name=f"b_{i}", shape=(size,), initializer="zeros"))
            hidden = size // 2 if self._splits(i) else size

    def _splits(self, i: int) -> bool:
        return self.split_half and i < len(self.sizes) - 1

    def call(self, inputs):
        x0, x, kept = inputs, inputs, []
        fields, d = inputs.shape[-2], inputs.shape[-1]
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            z = ops.reshape(x0[:, :, None, :] * x[:, None, :, :], (-1, fields * x.shape[1], d))
            y = ops.einsum("bmk,ms->bsk", z, kernel) + bias[:, None]
            y = y if self.activation == "linear" else getattr(keras.activations, self.activation)(y)
            if self._splits(i):
                half = self.sizes[i] // 2
                x, y = y[:, :half], y[:, half:]
            else:
                x = y
            kept.append(ops.sum(y, axis=-1))
        return ops.concatenate(kept, axis=-1)

    def output_width(self) -> int:
        return sum(s // 2 if self._splits(i) else s for i, s in enumerate(self.sizes))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_width())

    def get_config(self):
        return {**super().get_config(), "sizes": list(self.sizes), "split_half": self.split_half,
                "activation": self.activation}
