"""Query-free ("traditional") attention pooling over a behaviour sequence."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.activations import activation_layer, apply_activation
from recdsl.layers.masking import ExplicitMask, masked_softmax, valid_mask, zero_padded
from recdsl.layers.shared_weights import RoleWeights


@keras.saving.register_keras_serializable(package="recdsl")
class TraditionalAttention(RoleWeights, ExplicitMask, keras.layers.Layer):
    """Attention without a query: each position is scored from its own embedding alone.

        s_l = w2 . act(W1 x_l + b1)          x [B, L, d]; W1 [d, u], b1 [u], w2 [u]
        a   = softmax over the valid positions of s        (0 at padding; all-padding rows: 0)
        pooled:   sum_l a_l x_l   -> [B, d]
        sequence: a_l x_l         -> [B, L, d]

    Two fully connected layers, a softmax, and the inputs re-weighted: the "traditional
    attention" the Mogujie article compares with self-attention (positions never interact).
    The second layer has no bias: a constant added to every score cancels in the softmax.
    Weights by role (`share=`): W1, b1 are "key" and "key_bias" (the learned transform of each
    position before it is scored, as target attention's and self-attention's W_K, b_K), w2
    is "score" [u, 1]; a learned activation's slopes are not shared across ops.
    """

    def __init__(self, units=32, activation="relu", output="pooled", alpha_init=0.0, **kwargs):
        super().__init__(**kwargs)
        if output not in ("pooled", "sequence"):
            raise ValueError(f"TraditionalAttention output must be 'pooled' or 'sequence', got {output!r}")
        self.units, self.activation, self.output_mode = int(units), activation, output
        self.alpha_init = float(alpha_init)  # prelu/dice: the slopes' start
        self.act = activation_layer(activation, dtype=self.dtype_policy, alpha_init=alpha_init)

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.kernel = self.role_weight("key", (shape[-1], self.units), name="kernel")
        self.bias = self.role_weight("key_bias", (self.units,), initializer="zeros", name="bias")
        self.act.build(shape[:-1] + (self.units,))
        self.score_kernel = self.role_weight("score", (self.units, 1), name="score_kernel")

    def attention_weights(self, inputs, mask=None, training=None):
        """The softmax weight [B, L] of each position (0 at padding)."""
        if not self.built:
            self.build(tuple(inputs.shape))
            self.built = True
        mask = valid_mask(mask, inputs)
        x = zero_padded(inputs, mask)
        hidden = ops.matmul(x, self.kernel) + self.bias
        h = apply_activation(self.act, hidden, mask=mask, training=training)
        return masked_softmax(ops.squeeze(ops.matmul(h, self.score_kernel), -1), mask)

    def call(self, inputs, mask=None, training=None):
        weights = self.attention_weights(inputs, mask, training)
        weighted = ops.expand_dims(weights, -1) * zero_padded(inputs, valid_mask(mask, inputs))
        return ops.sum(weighted, axis=1) if self.output_mode == "pooled" else weighted

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        return (shape[0], shape[-1]) if self.output_mode == "pooled" else shape

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "output": self.output_mode, "alpha_init": self.alpha_init}
