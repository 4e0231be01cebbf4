"""SENet field gating (squeeze-and-excitation over embedding fields)."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recdsl")
class SENetGate(keras.layers.Layer):
    """Re-weight fields x [B, F, d] -> [B, F, d].

        z = mean_d x                                  [B, F]
        a = sigmoid(W2 relu(W1 z + b1) + b2)          hidden max(1, F // reduction)
        granularity="field": out = x * a[..., None]   (a [B, F])
        granularity="dim":   out = x * a              (a reshaped to [B, F, d])

    Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018; as a feature gate in
    FiBiNET, Huang et al., RecSys 2019.
    """

    def __init__(self, reduction=3, granularity="field", **kwargs):
        super().__init__(**kwargs)
        if granularity not in ("field", "dim"):
            raise ValueError(f"SENetGate granularity must be 'field' or 'dim', got {granularity!r}")
        self.reduction, self.granularity = reduction, granularity

    def build(self, input_shape):
        f, d = input_shape[-2], input_shape[-1]
        self.fields, self.dim = f, d
        policy = self.dtype_policy
        self.squeeze = keras.layers.Dense(max(1, f // self.reduction), activation="relu", dtype=policy)
        self.excite = keras.layers.Dense(f * d if self.granularity == "dim" else f,
                                         activation="sigmoid", dtype=policy)
        self.squeeze.build((None, f))
        self.excite.build((None, self.squeeze.units))

    def call(self, inputs):
        gate = self.excite(self.squeeze(ops.mean(inputs, axis=-1)))
        if self.granularity == "dim":
            return inputs * ops.reshape(gate, (-1, self.fields, self.dim))
        return inputs * ops.expand_dims(gate, -1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction, "granularity": self.granularity}
