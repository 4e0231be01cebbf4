"""Position encodings of a masked behaviour sequence: learned or sinusoidal, added or concatenated."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, valid_mask, zero_padded

KINDS = ("learned", "sinusoidal", "none")
MODES = ("add", "concat")
ORDERS = ("recent_first", "oldest_first")


def row_lengths(valid):
    """n_b = 1 + the index of row b's last valid position (0 for an empty row), int32 [B, 1].
    Sequences are valid first and padded at the end, so this is the row's valid count."""
    steps = ops.arange(1, ops.shape(valid)[1] + 1, dtype="int32")
    return ops.max(ops.where(valid, steps[None, :], ops.zeros_like(steps)[None, :]), axis=1, keepdims=True)


def sinusoid(pos, width: int):
    """PE(pos, j) = sin(pos / 10000^(2 floor(j/2) / width)) for even j, cos(...) for odd j; float32."""
    j = ops.arange(width, dtype="int32")
    rate = ops.power(10000.0, -ops.cast(2 * (j // 2), "float32") / width)
    angle = ops.expand_dims(ops.cast(pos, "float32"), -1) * rate
    return ops.where(ops.equal(j % 2, 0), ops.sin(angle), ops.cos(angle))


@keras.saving.register_keras_serializable(package="recdsl")
class PositionEncoding(ExplicitMask, keras.layers.Layer):
    """Encode where each valid position sits in its row, x [B, L, d], mask [B, L] ->
    [B, L, d] (mode="add") or [B, L, d + p] (mode="concat", p = dim):

        n_b   = 1 + index of row b's last valid position      (the row's length)
        pos_l = n_b - 1 - l    order="recent_first": 0 is the newest item (BST's recency)
              = l              order="oldest_first": 0 is the oldest
        P_l   = E[pos_l]       kind="learned": a trained table E [L, p]
              = PE(pos_l)      kind="sinusoidal": PE(pos, 2i) = sin(pos / 10000^(2i/p)),
                                                  PE(pos, 2i+1) = cos(pos / 10000^(2i/p))
              = 0              kind="none" (an ablation with the same shapes)
        y_l   = x_l + P_l (add) or [x_l, P_l] (concat);  y_l = 0 at padded positions

    p is d for mode="add". Sequences are oldest first and padded at the end, so pos_l depends
    only on the row's valid items, never on the padding after them: a row encodes the same at
    any padded length. The learned table has one row per position of the input's length L (an
input longer than the layer was built for reads its last row at positions past it).
    Vaswani et al., "Attention Is All You Need", NeurIPS 2017; BST, Chen et al., 2019.
    """

    def __init__(self, kind="learned", mode="add", order="recent_first", dim=None, **kwargs):
        super().__init__(**kwargs)
        for name, value, allowed in (("kind", kind, KINDS), ("mode", mode, MODES), ("order", order, ORDERS)):
            if value not in allowed:
                raise ValueError(f"PositionEncoding {name} must be one of {allowed}, got {value!r}")
        if mode == "concat" and not dim:
            raise ValueError("PositionEncoding mode='concat' needs dim= (the width of the encoding)")
        self.kind, self.mode, self.order, self.dim = kind, mode, order, dim

    def _width(self, d: int) -> int:
        return self.dim if self.mode == "concat" else d

    def build(self, input_shape):
        length, d = input_shape[1], input_shape[-1]
        if self.mode == "add" and self.dim not in (None, d):
            raise ValueError(f"PositionEncoding mode='add' keeps the width {d}; dim={self.dim} differs")
        if self.kind == "learned":
            if length is None:
                raise ValueError("a learned position table needs the sequence length (got None)")
            self.table = self.add_weight(name="table", shape=(length, self._width(d)),
                                         initializer=keras.initializers.RandomUniform(-0.05, 0.05))

    def positions(self, valid):
        """pos_l as int32 [B, L] (clipped to 0 at padding after the row)."""
        steps = ops.arange(ops.shape(valid)[1], dtype="int32")[None, :]
        if self.order == "oldest_first":
            return steps + ops.zeros_like(ops.cast(valid, "int32"))
        return ops.maximum(row_lengths(valid) - 1 - steps, 0)

    def encoding(self, x, valid):
        """P [B, L, p], like x's dtype."""
        pos, width = self.positions(valid), self._width(x.shape[-1])
        if self.kind == "learned":
            last = self.table.shape[0] - 1
            return ops.cast(ops.take(self.table, ops.minimum(pos, last), axis=0), x.dtype)
        if self.kind == "sinusoidal":
            return ops.cast(sinusoid(pos, width), x.dtype)
        return ops.repeat(ops.zeros_like(x[..., :1]), width, axis=-1)

    def call(self, inputs, mask=None):
        valid = valid_mask(mask, inputs)
        x = zero_padded(inputs, valid)
        p = self.encoding(x, valid)
        y = x + p if self.mode == "add" else ops.concatenate([x, p], axis=-1)
        return zero_padded(y, valid)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + (self.dim if self.mode == "concat" else 0),)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "mode": self.mode, "order": self.order, "dim": self.dim}
