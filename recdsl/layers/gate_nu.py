"""PEPNet's Gate Neural Unit: a two-layer gate network whose output scales a vector."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recdsl")
class GateNU(keras.layers.Layer):
    """z [B, m] -> g [B, width] in (0, scale):

        g = scale * sigmoid(W2 relu(W1 z + b1) + b2),  W1 [m, units], W2 [units, width]

    With scale (the paper's gamma) 2 a gate at its initial 0.5 leaves what it scales unchanged
    on average. Chang et al., "PEPNet: Parameter and Embedding Personalized Network for
    Infusing with Personalized Prior Information", KDD 2023 (Gate NU); the 2 * sigmoid gate is
    Kuaishou's PPNet (2021).
    """

    def __init__(self, units, width, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.width, self.scale = int(units), int(width), float(scale)
        policy = self.dtype_policy
        self.hidden = keras.layers.Dense(self.units, activation="relu", dtype=policy)
        self.gate = keras.layers.Dense(self.width, dtype=policy)

    def build(self, input_shape):
        self.hidden.build((None, input_shape[-1]))
        self.gate.build((None, self.units))

    def call(self, inputs):
        return self.scale * ops.sigmoid(self.gate(self.hidden(inputs)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.width)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "width": self.width, "scale": self.scale}
