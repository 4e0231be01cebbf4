"""FinalMLP's feature selection: a context-gated copy of the embeddings for one stream."""
from __future__ import annotations

import keras
from keras import ops

#: The gate's range is (0, 2): 2 * sigmoid, at its start (0.5) it leaves the embeddings unchanged.
GATE_SCALE = 2.0


@keras.saving.register_keras_serializable(package="recdsl")
class FeatureSelection(keras.layers.Layer):
    """Gate x [B, n] by a context c -> [B, n]:

        g   = 2 * sigmoid(W_k relu(... relu(W_1 c + b_1) ...) + b_k)    hidden widths `units`, W_k [., n]
        out = g * x

    c is the context input [B, m] (the paper's user or item features for one stream), or, with
    no context input, a learned vector of width `context_dim` (zeros at the start) shared by
    every row, so the gate learns a global importance per value (the paper's default when a
    stream has no context features; FuxiCTR's fs*_ctx_bias). units=[] is one Dense layer. Mao
    et al., "FinalMLP: An Enhanced Two-Stream MLP Model for CTR Prediction", AAAI 2023.
    """

    def __init__(self, units=(64,), context_dim=16, **kwargs):
        super().__init__(**kwargs)
        self.units, self.context_dim = [int(u) for u in units], int(context_dim)

    def build(self, input_shape):
        with_context = isinstance(input_shape[0], (list, tuple))
        x_shape = input_shape[0] if with_context else input_shape
        width = input_shape[1][-1] if with_context else self.context_dim
        policy = self.dtype_policy
        if not with_context:
            self.context = self.add_weight(name="context", shape=(1, self.context_dim), initializer="zeros")
        self.hidden = [keras.layers.Dense(u, activation="relu", dtype=policy) for u in self.units]
        self.gate = keras.layers.Dense(x_shape[-1], activation="sigmoid", dtype=policy)
        for layer in self.hidden:
            layer.build((None, width))
            width = layer.units
        self.gate.build((None, width))

    def call(self, inputs):
        x, context = inputs if isinstance(inputs, (list, tuple)) else (inputs, None)
        h = ops.cast(self.context, x.dtype) if context is None else context
        for layer in self.hidden:
            h = layer(h)
        return x * (GATE_SCALE * self.gate(h))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0] if isinstance(input_shape[0], (list, tuple)) else input_shape)

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "context_dim": self.context_dim}
