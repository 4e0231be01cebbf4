"""AutoInt multi-head self-attention over fields or a masked sequence."""
from __future__ import annotations

import math

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, masked_softmax, valid_mask, zero_padded


@keras.saving.register_keras_serializable(package="recdsl")
class SelfAttention(ExplicitMask, keras.layers.Layer):
    """Interacting layers x [B, N, d] (N fields or a sequence with mask [B, N]) -> [B, N, H dh].

    Per layer, with W_Q, W_K, W_V, W_res [d_in, H dh] (no biases):
        head h:  A_h = softmax(Q_h K_h^T / sqrt(dh)) V_h,  Q = x W_Q, K = x W_K, V = x W_V
        out = relu(concat_h A_h + x W_res)   (residual) or relu(concat_h A_h)
    Masked keys get no weight and padded query rows are zeroed. head_dim defaults to
    the input dim d. Song et al., "AutoInt", CIKM 2019.
    """

    def __init__(self, heads=2, head_dim=None, layers=1, residual=True, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.head_dim, self.depth, self.residual = heads, head_dim, layers, residual

    def build(self, input_shape):
        d_in = input_shape[-1]
        self.dh = self.head_dim or d_in
        inner = self.heads * self.dh
        self.projections = []
        for i in range(self.depth):
            names = ("query", "key", "value") + (("residual",) if self.residual else ())
            self.projections.append({
                name: self.add_weight(name=f"{name}_{i}", shape=(d_in, inner), initializer="glorot_uniform")
                for name in names})
            d_in = inner

    def call(self, inputs, mask=None):
        x = inputs
        keys_ok = None if mask is None else valid_mask(mask, inputs)
        if keys_ok is not None:
            # Padded rows hold 0 from here on: a masked key gets weight 0, but 0 * inf = NaN.
            x = zero_padded(x, keys_ok)
        for weights in self.projections:
            att = self._attend(x, weights, keys_ok)
            if self.residual:
                att = att + ops.matmul(x, weights["residual"])
            x = ops.relu(att)
            if keys_ok is not None:
                x = zero_padded(x, keys_ok)
        return x

    def _attend(self, x, weights, keys_ok):
        q, k, v = (self._split(ops.matmul(x, weights[n])) for n in ("query", "key", "value"))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(self.dh)   # [B, H, N, N]
        if keys_ok is None:
            probs = ops.softmax(scores, axis=-1)
        else:
            probs = masked_softmax(scores, keys_ok[:, None, None, :])
        out = ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3))                      # [B, N, H, dh]
        return ops.reshape(out, (-1, ops.shape(x)[1], self.heads * self.dh))

    def _split(self, t):
        return ops.transpose(ops.reshape(t, (-1, ops.shape(t)[1], self.heads, self.dh)), (0, 2, 1, 3))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.heads * (self.head_dim or input_shape[-1]),)

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "head_dim": self.head_dim,
                "layers": self.depth, "residual": self.residual}
