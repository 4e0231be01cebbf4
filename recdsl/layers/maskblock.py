"""MaskNet's MaskBlock: an instance-guided mask over the embeddings or a hidden layer."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.ops.masking_mlps import MASK_NORMS, aggregation_width

#: LayerNorm's epsilon, as the paper's code (PyTorch) and FuxiCTR use.
EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="recdsl")
class MaskBlock(keras.layers.Layer):
    """One MaskBlock over the embeddings e [B, F, d] (and a hidden vector h [B, m]) -> [B, units].

        mask      = W2 relu(W1 flat(e) + b1) + b2          W1 [F d, a], W2 [a, n], a = int(reduction * n)
        masked    = mask * LN_EMB(flat(e))                 without h (n = F d): "MaskBlock on feature embedding"
                  = mask * h                               with h (n = m): "MaskBlock on MaskBlock"
        out       = dropout(relu(LN_HID(W masked)))        W [n, units], no bias (LN_HID's beta is it)

    The mask is always generated from the raw embeddings (the instance). `norm` normalises what
    is masked: "field" is one LayerNorm per field over its d values (gamma, beta [F, d]: the
    paper's LN_EMB, FuxiCTR's per-field emb_norm); "layer" one LayerNorm over the whole masked
    vector (EasyRec's input_layer_norm); "none" nothing. norm=None (the default) is "field"
    without h and "none" with h (the previous MaskBlock's output is already normalised); "field"
    with h is refused. LayerNorm epsilon 1e-5. Serial MaskNet chains blocks (each masking the
    previous block's output); parallel MaskNet concatenates blocks over the embeddings and feeds
    an MLP. Wang, She and Zhang, "MaskNet: Introducing Feature-Wise Multiplication to CTR Ranking
    Models by Instance-Guided Mask", DLP-KDD 2021.
    """

    def __init__(self, units, reduction=1.0, norm=None, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if norm is not None and norm not in MASK_NORMS:
            raise ValueError(f"MaskBlock norm must be one of {MASK_NORMS} or None, got {norm!r}")
        self.units, self.reduction, self.norm, self.dropout = int(units), float(reduction), norm, float(dropout)

    def _norm_for(self, with_hidden: bool) -> str:
        norm = self.norm or ("none" if with_hidden else "field")
        if with_hidden and norm == "field":
            raise ValueError("MaskBlock norm='field' normalises embedding fields; with a hidden input use "
                             "'layer' or 'none'")
        return norm

    def build(self, input_shape):
        with_hidden = isinstance(input_shape[0], (list, tuple))
        emb_shape = input_shape[0] if with_hidden else input_shape
        fields, dim = emb_shape[-2], emb_shape[-1]
        masked = input_shape[1][-1] if with_hidden else fields * dim
        self.applied_norm = self._norm_for(with_hidden)
        if aggregation_width(masked, self.reduction) < 1:
            raise ValueError(f"MaskBlock reduction={self.reduction} leaves int(reduction * {masked}) = 0 neurons")
        policy = self.dtype_policy
        if self.applied_norm != "none":
            shape = (fields, dim) if self.applied_norm == "field" else (masked,)
            self.gamma = self.add_weight(name="input_gamma", shape=shape, initializer="ones")
            self.beta = self.add_weight(name="input_beta", shape=shape, initializer="zeros")
        self.aggregation = keras.layers.Dense(aggregation_width(masked, self.reduction), activation="relu",
                                              dtype=policy)
        self.projection = keras.layers.Dense(masked, dtype=policy)
        self.hidden = keras.layers.Dense(self.units, use_bias=False, dtype=policy)
        self.output_norm = keras.layers.LayerNormalization(epsilon=EPSILON, dtype=policy)
        self.aggregation.build((None, fields * dim))
        self.projection.build((None, self.aggregation.units))
        self.hidden.build((None, masked))
        self.output_norm.build((None, self.units))
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy) if self.dropout else None

    def _normalized(self, x):
        if self.applied_norm == "none":
            return x
        # normalise in float32 at least (as LayerNormalization does), then scale by this block's gamma, beta
        x = ops.layer_normalization(x, axis=-1, epsilon=EPSILON)
        return x * ops.cast(self.gamma, x.dtype) + ops.cast(self.beta, x.dtype)

    def call(self, inputs, training=None):
        emb, hidden = inputs if isinstance(inputs, (list, tuple)) else (inputs, None)
        flat = ops.reshape(emb, (-1, emb.shape[-2] * emb.shape[-1]))
        mask = self.projection(self.aggregation(flat))
        if hidden is not None:
            masked = self._normalized(hidden)
        elif self.applied_norm == "field":
            masked = ops.reshape(self._normalized(emb), (-1, emb.shape[-2] * emb.shape[-1]))
        else:
            masked = self._normalized(flat)
        out = ops.relu(self.output_norm(self.hidden(mask * masked)))
        return self.dropout_layer(out, training=training) if self.dropout_layer else out

    def compute_output_shape(self, input_shape):
        first = input_shape[0] if isinstance(input_shape[0], (list, tuple)) else input_shape
        return (first[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "reduction": self.reduction, "norm": self.norm,
                "dropout": self.dropout}
