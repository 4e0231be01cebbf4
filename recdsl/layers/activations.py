"""Learned activations from DIN (Zhou et al., 2018): Dice and PReLU, plus a lookup by name."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask

#: Names the registry allows for `activation=` (recdsl.ops.registry.ACTIVATIONS).
BUILTIN = ("relu", "sigmoid", "tanh", "gelu", "swish", "linear")


@keras.saving.register_keras_serializable(package="recdsl")
class Dice(ExplicitMask, keras.layers.Layer):
    """Data-adaptive activation: out = p * x + (1 - p) * alpha * x, p = sigmoid(BN(x)).

    BN normalises over every axis but the last, without its own scale or offset
    (center=False, scale=False); alpha is one learned slope per unit. Shapes are kept:
    [B, u] -> [B, u] or [B, L, u] -> [B, L, u]. A [B, L] `mask` keeps padded positions
    out of the batch statistics. Zhou et al., "Deep Interest Network for Click-Through
    Rate Prediction", KDD 2018, eq. 5.
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.norm = keras.layers.BatchNormalization(
            axis=-1, center=False, scale=False, epsilon=epsilon, dtype=self.dtype_policy)

    def build(self, input_shape):
        self.norm.build(input_shape)
        self.alpha = self.add_weight(name="alpha", shape=(input_shape[-1],), initializer="zeros")

    def call(self, inputs, mask=None, training=None):
        p = ops.sigmoid(ops.cast(self.norm(inputs, training=training, mask=mask), inputs.dtype))
        return p * inputs + (1.0 - p) * self.alpha * inputs

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="recdsl")
class PReLU(keras.layers.Layer):
    """Parametric ReLU: out = max(x, 0) + alpha * min(x, 0), one alpha per unit.

    alpha is shared over every axis but the last, so [B, u] and [B, L, u] both learn
    exactly u slopes. He et al., "Delving Deep into Rectifiers", ICCV 2015 (used by DIN).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=(input_shape[-1],), initializer="zeros")

    def call(self, inputs):
        return ops.relu(inputs) + self.alpha * ops.minimum(inputs, ops.zeros_like(inputs))


def activation_layer(name: str, dtype=None) -> keras.layers.Layer:
    """A fresh activation layer for a registry activation name."""
    if name == "dice":
        return Dice(dtype=dtype)
    if name == "prelu":
        return PReLU(dtype=dtype)
    if name not in BUILTIN:
        raise ValueError(f"unknown activation {name!r}; expected one of dice, prelu, {', '.join(BUILTIN)}")
    return keras.layers.Activation(name, dtype=dtype)


def apply_activation(layer, x, mask=None, training=None):
    """Call an activation layer; only Dice uses the mask and the training flag."""
    if isinstance(layer, Dice):
        return layer(x, mask=mask, training=training)
    return layer(x)
