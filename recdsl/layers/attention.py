"""Target attention: a query attends over a masked sequence of keys and pools its values."""
from __future__ import annotations

import math

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, masked_softmax, valid_mask, zero_padded

SCORES = ("dot", "scaled_dot", "bilinear", "additive")


@keras.saving.register_keras_serializable(package="recdsl")
class TargetAttention(ExplicitMask, keras.layers.Layer):
    """Target attention: [q [B, dq], K [B, L, dk]] or [q, K, V [B, L, dv]], mask [B, L].

        K' = K Wk + bk   (Dense dk -> dq) if transform, else K' = K
        s_l = q . k'_l                              score="dot"
        s_l = q . k'_l / sqrt(dq)                   score="scaled_dot"
        s_l = q W k'_l,  W [dq, dk']                score="bilinear"
        s_l = v . tanh(q Wq + k'_l Wk + b)          score="additive", Wq [dq, h], Wk [dk', h], b, v [h]
        a = masked_softmax(s, m)
        pooled:   sum_l a_l V_l -> [B, dv];  sequence: a_l V_l -> [B, L, dv]

    V defaults to the raw keys K. Vaswani et al., "Attention Is All You Need", NeurIPS
    2017 (dot/scaled_dot); Bahdanau et al., ICLR 2015 (additive).
    """

    def __init__(self, score="scaled_dot", transform=True, units=32, output="pooled", **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"TargetAttention score must be one of {SCORES}, got {score!r}")
        if output not in ("pooled", "sequence"):
            raise ValueError(f"TargetAttention output must be 'pooled' or 'sequence', got {output!r}")
        self.score, self.transform, self.units, self.output_mode = score, transform, units, output

    def build(self, input_shape):
        dq, dk = input_shape[0][-1], input_shape[1][-1]
        if self.transform:
            self.key_kernel = self.add_weight(name="key_kernel", shape=(dk, dq), initializer="glorot_uniform")
            self.key_bias = self.add_weight(name="key_bias", shape=(dq,), initializer="zeros")
            dk = dq
        if self.score in ("dot", "scaled_dot") and dk != dq:
            raise ValueError(f"TargetAttention {self.score} score needs query width {dq} == key width {dk}")
        if self.score == "bilinear":
            self.bilinear = self.add_weight(name="bilinear", shape=(dq, dk), initializer="glorot_uniform")
        elif self.score == "additive":
            h = self.units
            self.query_proj = self.add_weight(name="query_proj", shape=(dq, h), initializer="glorot_uniform")
            self.key_proj = self.add_weight(name="key_proj", shape=(dk, h), initializer="glorot_uniform")
            self.additive_bias = self.add_weight(name="additive_bias", shape=(h,), initializer="zeros")
            self.additive_v = self.add_weight(name="additive_v", shape=(h,), initializer="glorot_uniform")

    def call(self, inputs, mask=None):
        query, keys = inputs[0], inputs[1]
        values = inputs[2] if len(inputs) > 2 else keys
        weights = self.attention_weights([query, keys], mask)
        mask = valid_mask(mask, keys)
        weighted = ops.expand_dims(weights, -1) * zero_padded(values, mask)
        return ops.sum(weighted, axis=1) if self.output_mode == "pooled" else weighted

    def attention_weights(self, inputs, mask=None):
        """The softmax weight [B, L] of each position (0 at padding)."""
        query, keys = inputs[0], inputs[1]
        mask = valid_mask(mask, keys)
        # Zero padded keys first, so whatever they hold (even inf or NaN) reaches neither
        # the scores nor a gradient (0 * NaN would poison the key transform's).
        keys = zero_padded(keys, mask)
        if self.transform:
            keys = ops.matmul(keys, self.key_kernel) + self.key_bias
        return masked_softmax(self._scores(query, keys), mask)

    def _scores(self, query, keys):
        if self.score == "additive":
            hidden = ops.tanh(ops.expand_dims(ops.matmul(query, self.query_proj), 1)
                              + ops.matmul(keys, self.key_proj) + self.additive_bias)
            return ops.matmul(hidden, self.additive_v)
        if self.score == "bilinear":
            query = ops.matmul(query, self.bilinear)
        scores = ops.squeeze(ops.matmul(keys, ops.expand_dims(query, -1)), -1)
        if self.score == "scaled_dot":
            scores = scores / math.sqrt(query.shape[-1])
        return scores

    def compute_output_shape(self, input_shape):
        values_shape = tuple(input_shape[2] if len(input_shape) > 2 else input_shape[1])
        return (values_shape[0], values_shape[-1]) if self.output_mode == "pooled" else values_shape

    def get_config(self):
        return {**super().get_config(), "score": self.score, "transform": self.transform,
                "units": self.units, "output": self.output_mode}
