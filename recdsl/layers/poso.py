"""POSO personalised gate: neurons scaled by a gate computed from user features."""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="recdsl")
class PosoGate(keras.layers.Layer):
    """Gate x [B, n] by personalisation features by [B, m] -> [B, n].

        g = scale * sigmoid(W2 relu(W1 by + b1) + b2),  W1 [m, units], W2 [units, n]
        out = x * g

    With scale 2 a gate at its initial 0.5 leaves x unchanged on average. Dai et al.,
    "POSO: Personalized Cold Start Modules for Large-scale Recommender Systems", 2021.
    """

    def __init__(self, units=32, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale

    def build(self, input_shape):
        x_shape, by_shape = input_shape
        policy = self.dtype_policy
        self.hidden = keras.layers.Dense(self.units, activation="relu", dtype=policy)
        self.gate = keras.layers.Dense(x_shape[-1], activation="sigmoid", dtype=policy)
        self.hidden.build((None, by_shape[-1]))
        self.gate.build((None, self.units))

    def call(self, inputs):
        x, by = inputs
        return x * (self.scale * self.gate(self.hidden(by)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale}
