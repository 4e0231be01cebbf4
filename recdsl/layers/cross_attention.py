"""Multi-head cross-attention: queries from one sequence (or fields), keys and values from another."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import valid_mask, zero_padded
from recdsl.layers.self_attention import AttentionStack


@keras.saving.register_keras_serializable(package="recdsl")
class CrossAttention(AttentionStack):
    """[q [B, Lq, dq], K [B, Lk, dk]] or [q, K, V [B, Lk, dv]] -> [B, Lq, w]; V defaults to K.

    Each of `layers` stacked layers, on its queries x (q, then the previous layer's output),
    with the same K and V every time:
        Q = x W_Q + b_Q,  K' = K W_K + b_K,  V' = V W_V + b_V    W_* [d_*, H dh]   (project=True)
        Q = x, K' = K, V' = V, split into H heads                (project=False: dq == dk)
        head h:  A_h = softmax(Q_h K'_h^T / sqrt(dh)) V'_h       (masked keys get weight 0)
        a   = concat_h A_h W_O + b_O                             (output_proj=w; else w = H dh)
        out = act(a + x W_res)                                   (residual; else act(a))
    The options and their style defaults are SelfAttention's; the style defaults to
    "standard" (keras.layers.MultiHeadAttention: biases, head_dim dq / H, an output projection
    back to dq, linear, no residual), "autoint" gives AutoInt's form. Vaswani et al.,
    "Attention Is All You Need", NeurIPS 2017.

    `mask` is the keys' mask [B, Lk], or one mask per input ([query mask [B, Lq], keys
    mask(, values mask)]; the values share the keys' positions, so theirs is not read).
    Padded keys and values are zeroed on entry and get no weight; padded query rows, and the
    rows of a batch row with no valid key (an empty history, as an empty pool), are zero.
    """

    def __init__(self, heads=2, head_dim=None, layers=1, residual=None, style="standard", project=True,
                 bias=None, activation=None, output_proj=None, **kwargs):
        super().__init__(heads=heads, head_dim=head_dim, layers=layers, residual=residual, style=style,
                         project=project, bias=bias, activation=activation, output_proj=output_proj, **kwargs)

    def build(self, input_shape):
        d_values = input_shape[2][-1] if len(input_shape) > 2 else input_shape[1][-1]
        self.steps = self.plan(input_shape[0][-1], input_shape[1][-1], d_values, follow=False)
        self.projections = [self.make_weights(i, step) for i, step in enumerate(self.steps)]

    def call(self, inputs, mask=None):
        query, keys = inputs[0], inputs[1]
        values = inputs[2] if len(inputs) > 2 else keys
        query_mask, keys_mask = (mask[0], mask[1]) if isinstance(mask, (list, tuple)) else (None, mask)
        keys_ok = valid_mask(keys_mask, keys)
        # Zero padding first, so whatever it holds (even inf or NaN) reaches no output or gradient.
        keys, values = zero_padded(keys, keys_ok), zero_padded(values, keys_ok)
        rows_ok = ops.logical_and(valid_mask(query_mask, query), ops.any(keys_ok, axis=1, keepdims=True))
        x = zero_padded(query, rows_ok)
        for step, weights in zip(self.steps, self.projections):
            x = zero_padded(self.attend(step, weights, x, keys, values, keys_ok), rows_ok)
        return x

    def attention_weights(self, inputs, mask=None):
        """[B, Lk]: the first layer's weight of each key, averaged over the heads and the valid
        queries (0 at padded keys; a row with no valid key or query gives zeros)."""
        query, keys = inputs[0], inputs[1]
        if not self.built:
            self.build([tuple(t.shape) for t in inputs])
            self.built = True
        query_mask, keys_mask = (mask[0], mask[1]) if isinstance(mask, (list, tuple)) else (None, mask)
        keys_ok = valid_mask(keys_mask, keys)
        rows_ok = ops.logical_and(valid_mask(query_mask, query), ops.any(keys_ok, axis=1, keepdims=True))
        return self.mean_weights(zero_padded(query, rows_ok), zero_padded(keys, keys_ok), keys_ok, rows_ok)

    def compute_output_shape(self, input_shape):
        d_values = input_shape[2][-1] if len(input_shape) > 2 else input_shape[1][-1]
        out = self.plan(input_shape[0][-1], input_shape[1][-1], d_values, follow=False)[-1].out
        return tuple(input_shape[0][:-1]) + (out,)
