"""Prediction heads: one float32 logit and its link function."""
from __future__ import annotations

import keras
from keras import ops

KINDS = ("sigmoid", "linear")


@keras.saving.register_keras_serializable(package="recdsl")
class PredictionHead(keras.layers.Layer):
    """x [B, n] -> [B, 1]: y = sigmoid(x w + b) (kind="sigmoid") or x w + b ("linear").

    The head computes in float32 even when the model runs in mixed precision, so
    probabilities and the loss keep full precision (Micikevicius et al., "Mixed
    Precision Training", ICLR 2018).
    """

    def __init__(self, kind="sigmoid", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"PredictionHead kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.logit = keras.layers.Dense(1, dtype="float32")

    def build(self, input_shape):
        self.logit.build((None, input_shape[-1]))

    def call(self, inputs):
        logit = self.logit(ops.cast(inputs, "float32"))
        return ops.sigmoid(logit) if self.kind == "sigmoid" else logit

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}
