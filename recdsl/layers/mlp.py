"""The MLP block, optionally with a POSO gate on every layer."""
from __future__ import annotations

import keras

from recdsl.layers.activations import activation_layer, apply_activation
from recdsl.layers.poso import PosoGate

NORMS = ("none", "batch", "layer")


@keras.saving.register_keras_serializable(package="recdsl")
class MLPBlock(keras.layers.Layer):
    """Dense layers x [B, n] -> [B, units[-1]]; with a gate the input is [x, by [B, m]].

    Per layer i:  h = Dense(units_i)(h) -> norm (batch/layer) -> activation
                  -> h * scale * sigmoid(MLP_i(by))  (gate={"op": "poso", "units", "scale"})
                  -> dropout
    Each gated layer has its own gate network by -> gate units -> units_i. Rumelhart et
    al., 1986; the gate is POSO, Dai et al., 2021.
    """

    def __init__(self, units, activation="relu", dropout=0.0, norm="none", gate=None, alpha_init=0.0, **kwargs):
        super().__init__(**kwargs)
        if norm not in NORMS:
            raise ValueError(f"MLPBlock norm must be one of {NORMS}, got {norm!r}")
        if gate is not None and gate.get("op", "poso") != "poso":
            raise ValueError(f"MLPBlock gate must be a poso gate, got {gate!r}")
        self.units = [int(u) for u in units]
        self.activation, self.dropout, self.norm, self.gate = activation, dropout, norm, gate
        self.alpha_init = float(alpha_init)  # prelu/dice: the slopes' start
        policy = self.dtype_policy
        self.dense = [keras.layers.Dense(u, dtype=policy) for u in self.units]
        self.norms = [self._norm_layer(policy) for _ in self.units] if norm != "none" else []
        self.activations = [activation_layer(activation, dtype=policy, alpha_init=alpha_init) for _ in self.units]
        self.gates = ([PosoGate(units=gate.get("units", 32), scale=gate.get("scale", 2.0), dtype=policy)
                       for _ in self.units] if gate is not None else [])
        self.dropouts = [keras.layers.Dropout(dropout, dtype=policy) for _ in self.units] if dropout else []

    def _norm_layer(self, policy):
        if self.norm == "batch":
            return keras.layers.BatchNormalization(dtype=policy)
        return keras.layers.LayerNormalization(dtype=policy)

    def build(self, input_shape):
        x_shape, by_shape = (input_shape if self.gate is not None else (input_shape, None))
        width = x_shape[-1]
        for i, u in enumerate(self.units):
            self.dense[i].build((None, width))
            if self.norms:
                self.norms[i].build((None, u))
            self.activations[i].build((None, u))
            if self.gates:
                self.gates[i].build([(None, u), tuple(by_shape)])
            width = u

    def call(self, inputs, training=None):
        x, by = inputs if self.gate is not None else (inputs, None)
        for i in range(len(self.units)):
            x = self.dense[i](x)
            if self.norms:
                x = self.norms[i](x, training=training)
            x = apply_activation(self.activations[i], x, training=training)
            if self.gates:
                x = self.gates[i]([x, by])
            if self.dropouts:
                x = self.dropouts[i](x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0] if self.gate is not None else input_shape
        return (x_shape[0], self.units[-1])

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "activation": self.activation,
                "dropout": self.dropout, "norm": self.norm, "gate": self.gate, "alpha_init": self.alpha_init}
