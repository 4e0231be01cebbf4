"""Target attention: a query attends over a masked sequence of keys and pools its values."""
from __future__ import annotations

import math

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, masked_softmax, valid_mask, zero_padded
from recdsl.layers.shared_weights import RoleWeights

SCORES = ("dot", "scaled_dot", "bilinear", "additive")
#: The divisor's width of score="scaled_dot": s / sqrt(width).
SCALES = ("query", "mean", "key")


@keras.saving.register_keras_serializable(package="recdsl")
class TargetAttention(RoleWeights, ExplicitMask, keras.layers.Layer):
    """Target attention: [q [B, dq], K [B, L, dk]] or [q, K, V [B, L, dv]], mask [B, L].

        K' = K Wk + bk   (Dense dk -> dq) if transform, else K' = K   (bk only with key_bias)
        s_l = q . k'_l                              score="dot"
        s_l = q . k'_l / sqrt(c)                    score="scaled_dot", c by `scale`:
              c = dq ("query"), (dk + dq) / 2 ("mean", the keys' width before the transform:
              the attention article's), dk ("key")
        s_l = q W k'_l,  W [dq, dk']                score="bilinear"
        s_l = v . tanh(q Wq + k'_l Wk + b)          score="additive", Wq [dq, h], Wk [dk', h], b, v [h]
        a = masked_softmax(s, m)
        pooled:   sum_l a_l V_l -> [B, dv];  sequence: a_l V_l -> [B, L, dv]

    V defaults to the raw keys K. A row with no valid position gives zeros (weights all 0).
    The key bias bk adds q . bk (dot, scaled_dot) or q W bk (bilinear) to every position's
    score alike, which the softmax cancels: a dead parameter there (key_bias=False drops it;
    the default keeps it). Weights by role (`share=`): key, key_bias, bilinear,
    additive_query, additive_key, additive_bias, additive_v. Vaswani et al., "Attention Is All You Need", NeurIPS
    2017 (dot/scaled_dot); Bahdanau et al., ICLR 2015 (additive).
    """

    def __init__(self, score="scaled_dot", transform=True, units=32, output="pooled", key_bias=True,
                 scale="query", **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"TargetAttention score must be one of {SCORES}, got {score!r}")
        if scale not in SCALES:
            raise ValueError(f"TargetAttention scale must be one of {SCALES}, got {scale!r}")
        self.key_bias_on, self.scale = bool(key_bias), scale
        if output not in ("pooled", "sequence"):
            raise ValueError(f"TargetAttention output must be 'pooled' or 'sequence', got {output!r}")
        self.score, self.transform, self.units, self.output_mode = score, transform, units, output

    def build(self, input_shape):
        dq, dk = input_shape[0][-1], input_shape[1][-1]
        self.scale_width = {"query": dq, "mean": (dk + dq) / 2, "key": dk}[self.scale]
        if self.transform:
            self.key_kernel = self.role_weight("key", (dk, dq), name="key_kernel")
            if self.key_bias_on:
                self.key_bias = self.role_weight("key_bias", (dq,), initializer="zeros")
            dk = dq
        if self.score in ("dot", "scaled_dot") and dk != dq:
            raise ValueError(f"TargetAttention {self.score} score needs query width {dq} == key width {dk}")
        if self.score == "bilinear":
            self.bilinear = self.role_weight("bilinear", (dq, dk))
        elif self.score == "additive":
            h = self.units
            self.query_proj = self.role_weight("additive_query", (dq, h), name="query_proj")
            self.key_proj = self.role_weight("additive_key", (dk, h), name="key_proj")
            self.additive_bias = self.role_weight("additive_bias", (h,), initializer="zeros")
            self.additive_v = self.role_weight("additive_v", (h,))

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
            keys = ops.matmul(keys, self.key_kernel)
            if self.key_bias_on:
                keys = keys + self.key_bias
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
            scores = scores / math.sqrt(self.scale_width)
        return scores

    def compute_output_shape(self, input_shape):
        values_shape = tuple(input_shape[2] if len(input_shape) > 2 else input_shape[1])
        return (values_shape[0], values_shape[-1]) if self.output_mode == "pooled" else values_shape

    def get_config(self):
        return {**super().get_config(), "score": self.score, "transform": self.transform,
                "units": self.units, "output": self.output_mode, "key_bias": self.key_bias_on,
                "scale": self.scale}
