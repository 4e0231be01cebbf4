"""Learned activations from DIN (Zhou et al., 2018): Dice and PReLU, plus a lookup by name."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask
from recdsl.ops.counting import BUILTIN_ACTIVATIONS as BUILTIN


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

    Written out rather than as a masked keras BatchNormalization, with a hand-written
    backward pass (`_dice_train`): the same formula and gradient in fewer passes over the
    [B, L, u] activations of a DIN attention unit, where this layer is the largest cost of
    a training step on CPU (bench/throughput.py). While training, padded positions output 0.
    """

    def __init__(self, epsilon=1e-8, momentum=0.99, alpha_init=0.0, **kwargs):
        super().__init__(**kwargs)
        self.epsilon, self.momentum, self.alpha_init = epsilon, momentum, float(alpha_init)

    def build(self, input_shape):
        u = input_shape[-1]
        self.alpha = self.add_weight(name="alpha", shape=(u,), initializer=keras.initializers.Constant(self.alpha_init))
        self.moving_mean = self.add_weight(name="moving_mean", shape=(u,), initializer="zeros",
                                           trainable=False, autocast=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(u,), initializer="ones",
                                               trainable=False, autocast=False)

    def call(self, inputs, mask=None, training=None):
        x = ops.cast(inputs, "float32")
        alpha = ops.cast(self.alpha, "float32")
        if not training:
            scale = ops.rsqrt(self.moving_variance + self.epsilon)
            return ops.cast(x * _gate(x, alpha, self.moving_mean, scale)[1], inputs.dtype)
        u = x.shape[-1]
        flat = ops.reshape(x, (-1, u))
        if mask is None:
            weights = ops.ones_like(flat[:, :1])
        else:
            weights = ops.reshape(ops.cast(ops.cast(mask, "bool"), "float32"), (-1, 1))
            flat = ops.where(weights > 0, flat, 0.0)  # padding may hold anything, inf and NaN included
        mean, var, count = _masked_moments(flat, weights)
        self._update_moving(mean, var, count > 0)
        out = _dice_train(self.epsilon)(flat, alpha, weights, mean, var, count)
        return ops.cast(ops.reshape(out, ops.shape(x)), inputs.dtype)

    def _update_moving(self, mean, var, seen):
        keep = ops.cast(self.momentum, "float32")
        old_mean, old_var = self.moving_mean.value, self.moving_variance.value  # tensors: jnp.where takes no Variable
        self.moving_mean.assign(ops.where(seen, old_mean * keep + mean * (1.0 - keep), old_mean))
        self.moving_variance.assign(ops.where(seen, old_var * keep + var * (1.0 - keep), old_var))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "momentum": self.momentum,
                "alpha_init": self.alpha_init}


def _gate(x, alpha, mean, scale):
    """p = sigmoid((x - mean) * scale) and Dice's gate alpha + (1 - alpha) p: out = x * gate."""
    p = ops.sigmoid((x - mean) * scale)
    return p, alpha + (1.0 - alpha) * p


def _masked_moments(flat, weights):
    """Mean and variance per unit of flat [n, u] over the rows where weights [n, 1] is 1
    (padded rows already zeroed), as [1, n] x [n, u] products: one pass each over x and x^2.
    Also the count of valid rows. No gradient flows through them here: `_dice_train`'s
    backward adds the moments' share itself."""
    w = ops.transpose(weights)                                   # [1, n]
    count = ops.sum(w)
    n = ops.maximum(count, 1.0)
    mean = ops.reshape(ops.matmul(w, flat), (-1,)) / n
    second = ops.reshape(ops.matmul(w, ops.square(flat)), (-1,)) / n
    var = ops.maximum(second - ops.square(mean), 0.0)
    return ops.stop_gradient(mean), ops.stop_gradient(var), ops.stop_gradient(count)


def _dice_train(epsilon):
    """Dice on flat [n, u] with the batch moments, as a function with a hand-written gradient.

    Forward: z = (x - m) s, s = (v + eps)^-1/2, p = sigmoid(z), out = x (a + (1 - a) p).
    Backward, with g the upstream gradient, w the [n, 1] valid-row weights, N = sum(w) and
    the moments m = sum(w x) / N, v = sum(w x^2) / N - m^2 differentiated too, as autodiff
    of the forward would:
        gz    = g (1 - a) x p (1 - p)
        dL/dm = -s sum(gz)          dL/dv = -s^3 / 2 sum(gz (x - m))
        dx    = g (a + (1 - a) p) + s gz + w (dL/dm - 2 m dL/dv + 2 x dL/dv) / N
        da    = sum(g x (1 - p))
    (sums over every row: padded rows use the moments too). Autodiff of the same formula
    keeps a handful of [n, u] intermediates alive; this backward recomputes p and takes
    three column sums and one elementwise pass (MovieLens DIN attention unit, batch 1024,
    XLA on 2 CPU cores: ~48 -> ~41 ms forward + backward; docs/performance.md).
    """
    @ops.custom_gradient
    def dice(x, alpha, weights, mean, var, count):
        scale = ops.rsqrt(var + epsilon)
        out = x * _gate(x, alpha, mean, scale)[1]

        def grad(*args, upstream=None):
            g = args[0] if upstream is None else upstream
            p, gate = _gate(x, alpha, mean, scale)  # recomputed: cheaper on CPU than keeping [n, u] tensors from the forward
            gz = g * (1.0 - alpha) * x * p * (1.0 - p)
            sum_gz = ops.sum(gz, axis=0)
            d_mean = -scale * sum_gz
            d_var = -0.5 * scale * scale * scale * (ops.sum(gz * x, axis=0) - mean * sum_gz)
            d_var = ops.where(var > 0, d_var, 0.0)  # var was clamped at 0 there
            n = ops.maximum(count, 1.0)
            shared = (d_mean - 2.0 * mean * d_var) / n
            dx = g * gate + scale * gz + weights * (shared + x * (2.0 * d_var / n))
            d_alpha = ops.sum(g * x * (1.0 - p), axis=0)
            return (dx, d_alpha, ops.zeros_like(weights), ops.zeros_like(mean), ops.zeros_like(var),
                    ops.zeros_like(count))

        return out, grad

    return dice


@keras.saving.register_keras_serializable(package="recdsl")
class PReLU(keras.layers.Layer):
    """Parametric ReLU: out = max(x, 0) + alpha * min(x, 0), one alpha per unit.

    alpha is shared over every axis but the last, so [B, u] and [B, L, u] both learn
    exactly u slopes, each starting at `alpha_init` (0: a ReLU at first; the DIN-FCN article's
    PReLU starts at 0.1). He et al., "Delving Deep into Rectifiers", ICCV 2015 (used by DIN).
    """

    def __init__(self, alpha_init=0.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha_init = float(alpha_init)

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=(input_shape[-1],),
                                     initializer=keras.initializers.Constant(self.alpha_init))

    def call(self, inputs):
        return ops.relu(inputs) + self.alpha * ops.minimum(inputs, ops.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "alpha_init": self.alpha_init}


def activation_layer(name: str, dtype=None, alpha_init: float = 0.0) -> keras.layers.Layer:
    """A fresh activation layer for a registry activation name; `alpha_init`: Dice's and PReLU's
    initial slope."""
    if name == "dice":
        return Dice(dtype=dtype, alpha_init=alpha_init)
    if name == "prelu":
        return PReLU(dtype=dtype, alpha_init=alpha_init)
    if name not in BUILTIN:
        raise ValueError(f"unknown activation {name!r}; expected one of dice, prelu, {', '.join(BUILTIN)}")
    return keras.layers.Activation(name, dtype=dtype)


def apply_activation(layer, x, mask=None, training=None):
    """Call an activation layer; only Dice uses the mask and the training flag."""
    if isinstance(layer, Dice):
        return layer(x, mask=mask, training=training)
    return layer(x)
