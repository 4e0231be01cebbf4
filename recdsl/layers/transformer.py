"""Transformer encoder over a masked sequence (or a stack of fields)."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, valid_mask, zero_padded


@keras.saving.register_keras_serializable(package="recdsl")
class TransformerEncoder(ExplicitMask, keras.layers.Layer):
    """Post-norm encoder layers x [B, L, d], mask [B, L] -> [B, L, d]:

        x = LN(x + Dropout(MHA(x, x, x, mask)))
        x = LN(x + Dropout(FFN(x))),   FFN = Dense(ff, relu) -> Dense(d), ff = 4d by default

    MHA has `heads` heads of key_dim d // heads, with biases. Padded keys get no
    attention and padded rows are zeroed after every layer; causal=True also hides
    later positions. Vaswani et al., "Attention Is All You Need", NeurIPS 2017; over
    behaviour sequences as in BST, Chen et al., 2019.
    """

    def __init__(self, heads=2, ff=None, layers=1, dropout=0.0, causal=False, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.ff, self.depth, self.dropout, self.causal = heads, ff, layers, dropout, causal

    def build(self, input_shape):
        d = input_shape[-1]
        if d % self.heads:
            raise ValueError(f"TransformerEncoder width {d} is not divisible by heads={self.heads}")
        policy, ff = self.dtype_policy, self.ff or 4 * d
        self.blocks = []
        for i in range(self.depth):
            block = {
                "attention": keras.layers.MultiHeadAttention(
                    self.heads, d // self.heads, dropout=self.dropout, dtype=policy, name=f"attention_{i}"),
                "norm_1": keras.layers.LayerNormalization(dtype=policy, name=f"norm_1_{i}"),
                "ff_1": keras.layers.Dense(ff, activation="relu", dtype=policy, name=f"ff_1_{i}"),
                "ff_2": keras.layers.Dense(d, dtype=policy, name=f"ff_2_{i}"),
                "norm_2": keras.layers.LayerNormalization(dtype=policy, name=f"norm_2_{i}"),
                "drop": keras.layers.Dropout(self.dropout, dtype=policy, name=f"drop_{i}"),
            }
            shape = tuple(input_shape)
            block["attention"].build(shape, shape)
            block["norm_1"].build(shape)
            block["ff_1"].build(shape)
            block["ff_2"].build(shape[:-1] + (ff,))
            block["norm_2"].build(shape)
            self.blocks.append(block)

    def call(self, inputs, mask=None, training=None):
        valid = valid_mask(mask, inputs)
        # Padded rows hold 0 from here on: a masked key gets weight 0, but 0 * inf = NaN.
        x = zero_padded(inputs, valid)
        pair = ops.logical_and(ops.expand_dims(valid, 1), ops.expand_dims(valid, 2))   # [B, Lq, Lk]
        for block in self.blocks:
            attended = block["attention"](x, x, attention_mask=pair, use_causal_mask=self.causal,
                                          training=training)
            x = block["norm_1"](x + block["drop"](attended, training=training))
            hidden = block["ff_2"](block["ff_1"](x))
            x = block["norm_2"](x + block["drop"](hidden, training=training))
            x = zero_padded(x, valid)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "ff": self.ff, "layers": self.depth,
                "dropout": self.dropout, "causal": self.causal}
