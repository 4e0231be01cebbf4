"""PPNet: an MLP whose every hidden layer is scaled by its own personalised gate."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.activations import activation_layer, apply_activation
from recdsl.layers.gate_nu import GateNU


@keras.saving.register_keras_serializable(package="recdsl")
class PPNetBlock(keras.layers.Layer):
    """[x [B, n], by [B, m]] -> [B, units[-1]]:

        z   = [by, stop_gradient(x)]                       ([by, x] with stop_gradient=False)
        h_0 = x
        h_l = act(W_l h_{l-1} + b_l) ⊙ g_l(z),   g_l = scale * sigmoid(V_l relu(U_l z + c_l) + e_l)
              -> dropout

    Each hidden layer l has its own Gate NU (gate_units hidden, units_l out); all read the same
    z, the personalised prior (user/item ids) beside the MLP's input. The stop-gradient keeps the
    gates from training the MLP's input through theirs. Kuaishou's PPNet (Parameter Personalized
    Network, 2021), as described in Chang et al., "PEPNet: Parameter and Embedding Personalized
    Network for Infusing with Personalized Prior Information", KDD 2023.
    """

    def __init__(self, units, gate_units=64, scale=2.0, activation="relu", dropout=0.0, stop_gradient=True,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = [int(u) for u in units]
        self.gate_units, self.scale, self.activation = int(gate_units), float(scale), activation
        self.dropout, self.stop_gradient = float(dropout), bool(stop_gradient)
        policy = self.dtype_policy
        self.dense = [keras.layers.Dense(u, dtype=policy) for u in self.units]
        self.activations = [activation_layer(activation, dtype=policy) for _ in self.units]
        self.gates = [GateNU(self.gate_units, u, self.scale, dtype=policy) for u in self.units]
        self.dropouts = [keras.layers.Dropout(self.dropout, dtype=policy) for _ in self.units] if dropout else []

    def build(self, input_shape):
        x_shape, by_shape = input_shape
        width, prior = x_shape[-1], by_shape[-1] + x_shape[-1]
        for dense, act, gate, u in zip(self.dense, self.activations, self.gates, self.units):
            dense.build((None, width))
            act.build((None, u))
            gate.build((None, prior))
            width = u

    def call(self, inputs, training=None):
        x, by = inputs
        seen = ops.stop_gradient(x) if self.stop_gradient else x
        prior = ops.concatenate([ops.cast(by, self.compute_dtype), seen], axis=-1)
        h = x
        for i, dense in enumerate(self.dense):
            h = apply_activation(self.activations[i], dense(h), training=training) * self.gates[i](prior)
            if self.dropouts:
                h = self.dropouts[i](h, training=training)
        return h

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units[-1])

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "gate_units": self.gate_units,
                "scale": self.scale, "activation": self.activation, "dropout": self.dropout,
                "stop_gradient": self.stop_gradient}
