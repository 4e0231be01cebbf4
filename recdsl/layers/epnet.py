"""PEPNet's EPNet: embedding fields scaled by a gate over the domain features."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.gate_nu import GateNU

GRANULARITIES = ("dim", "field")


@keras.saving.register_keras_serializable(package="recdsl")
class EPNetGate(keras.layers.Layer):
    """[E [B, F, d], by [B, m]] -> [B, F, d]:

        z = [by, stop_gradient(flatten(E))]      ([by, flatten(E)] with stop_gradient=False)
        g = GateNU(z) = scale * sigmoid(W2 relu(W1 z + b1) + b2)
        out = g ⊙ E    g [B, F, d] (granularity="dim", the paper's δ_domain ⊗ E) or g [B, F, 1] ("field")

    The stop-gradient keeps the gate from training the embeddings through its input: they
    learn only through what they are scaled into. Chang et al., "PEPNet: Parameter and
    Embedding Personalized Network for Infusing with Personalized Prior Information", KDD 2023.
    """

    def __init__(self, units=64, scale=2.0, granularity="dim", stop_gradient=True, **kwargs):
        super().__init__(**kwargs)
        if granularity not in GRANULARITIES:
            raise ValueError(f"EPNetGate granularity must be one of {GRANULARITIES}, got {granularity!r}")
        self.units, self.scale, self.granularity = int(units), float(scale), granularity
        self.stop_gradient = bool(stop_gradient)

    def build(self, input_shape):
        fields_shape, by_shape = input_shape
        self.fields, self.dim = int(fields_shape[1]), int(fields_shape[2])
        width = self.fields * self.dim if self.granularity == "dim" else self.fields
        self.gate = GateNU(self.units, width, self.scale, dtype=self.dtype_policy)
        self.gate.build((None, by_shape[-1] + self.fields * self.dim))

    def call(self, inputs):
        fields, by = inputs
        flat = ops.reshape(fields, (-1, self.fields * self.dim))
        seen = ops.stop_gradient(flat) if self.stop_gradient else flat
        g = self.gate(ops.concatenate([ops.cast(by, self.compute_dtype), seen], axis=-1))
        shape = (-1, self.fields, self.dim) if self.granularity == "dim" else (-1, self.fields, 1)
        return fields * ops.reshape(g, shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale,
                "granularity": self.granularity, "stop_gradient": self.stop_gradient}
