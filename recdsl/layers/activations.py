"""Learned activations from DIN (Zhou et al., 2018): Dice and PReLU, plus a lookup by name."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask

#: Names the registry allows for `activation=` (recdsl.ops.registry.ACTIVATIONS).
BUILTIN = ("relu", "sigmoid", "tanh", "gelu", "swish", "linear")


@keras.saving.register_keras_serializable(package="recdsl")
class Dice(ExplicitMask, keras.layers.Layer):
    """Data-adaptive activation: out = p * x + (1 - p) * alpha * x = x * (alpha + (1 - alpha) * p),
    p = sigmoid((x - mean) / sqrt(var + epsilon)).

    mean and var are per unit, over every axis but the last: the batch's moments while
    training (moving averages with `momentum` are kept for inference), the moving averages
    otherwise; alpha is one learned slope per unit. Shapes are kept: [B, u] -> [B, u] or
    [B, L, u] -> [B, L, u]. A [B, L] `mask` keeps padded positions out of the moments
    (whatever they hold, inf and NaN included). The moments are computed in float32 under
    mixed precision. Zhou et al., "Deep Interest Network for Click-Through Rate
    Prediction", KDD 2018, eq. 5.

    Written out rather than as a masked keras BatchNormalization: the same formula in
    fewer passes over the [B, L, u] activations of a DIN attention unit, where this layer
    is the largest cost of a training step on CPU (bench/throughput.py).
    """

    def __init__(self, epsilon=1e-8, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.epsilon, self.momentum = epsilon, momentum

    def build(self, input_shape):
        u = input_shape[-1]
        self.alpha = self.add_weight(name="alpha", shape=(u,), initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=(u,), initializer="zeros",
                                           trainable=False, autocast=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(u,), initializer="ones",
                                               trainable=False, autocast=False)

    def call(self, inputs, mask=None, training=None):
        x = ops.cast(inputs, "float32")
        if training:
            mean, var = self._moments(x, mask)
        else:
            mean, var = self.moving_mean, self.moving_variance
        scale = ops.rsqrt(var + self.epsilon)
        p = ops.sigmoid(x * scale - mean * scale)
        alpha = ops.cast(self.alpha, "float32")
        return ops.cast(x * (alpha + (1.0 - alpha) * p), inputs.dtype)

    def _moments(self, x, mask):
        """Per-unit mean and variance over the valid positions, as [n] x [n, u] products
        (one pass each over x and x^2) rather than masked reductions."""
        u = x.shape[-1]
        flat = ops.reshape(x, (-1, u))
        if mask is None:
            mean = ops.mean(flat, axis=0)
            second = ops.mean(ops.square(flat), axis=0)
            seen = True
        else:
            valid = ops.reshape(ops.cast(mask, "bool"), (-1, 1))
            weights = ops.reshape(ops.cast(valid, "float32"), (1, -1))
            flat = ops.where(valid, flat, 0.0)  # padding may hold anything, inf and NaN included
            count = ops.sum(weights)
            n = ops.maximum(count, 1.0)
            mean = ops.reshape(ops.matmul(weights, flat), (u,)) / n
            second = ops.reshape(ops.matmul(weights, ops.square(flat)), (u,)) / n
            seen = count > 0
        var = ops.maximum(second - ops.square(mean), 0.0)
        keep = ops.cast(self.momentum, "float32")
        old_mean, old_var = self.moving_mean.value, self.moving_variance.value  # tensors: jnp.where takes no Variable
        self.moving_mean.assign(ops.where(seen, old_mean * keep + mean * (1.0 - keep), old_mean))
        self.moving_variance.assign(ops.where(seen, old_var * keep + var * (1.0 - keep), old_var))
        return mean, var

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "momentum": self.momentum}


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
