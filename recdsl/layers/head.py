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


#: The product's clip: the float32 epsilon Keras' binary cross-entropy clips with too.
PROBABILITY_EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="recdsl")
class ProbabilityProduct(keras.layers.Layer):
    """[p1 [B, 1], p2 [B, 1], ...] -> [B, 1]: p = clip(prod_i p_i, eps, 1 - eps), eps = 1e-7.

    ESMM's pCTCVR = pCTR * pCVR (Ma et al., "Entire Space Multi-Task Model", SIGIR 2018). The
    inputs are probabilities (sigmoid outputs); the clip keeps log p and log(1 - p) of the loss
    finite when a factor underflows to 0. Computes in float32 like the heads it multiplies.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, inputs):
        inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        joined = ops.concatenate([ops.cast(p, "float32") for p in inputs], axis=-1)
        product = ops.prod(joined, axis=-1, keepdims=True)
        return ops.clip(product, PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON)

    def compute_output_shape(self, input_shape):
        first = input_shape[0] if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)) \
            else input_shape
        return (first[0], 1)
