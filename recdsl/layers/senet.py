"""SENet field gating (squeeze-and-excitation over embedding fields)."""
from __future__ import annotations

import keras
from keras import ops

GRANULARITIES = ("field", "dim", "dim_shared")
SQUEEZES = ("mean", "dense")


@keras.saving.register_keras_serializable(package="recdsl")
class SENetGate(keras.layers.Layer):
    """Re-weight fields x [B, F, d] -> [B, F, d].

    granularity="field" or "dim": squeeze each field's d values, excite over the F fields
        z = mean_d x  (squeeze="mean")  or  z_f = x_f . w + b, w [d]  (squeeze="dense")   [B, F]
        a = sigmoid(W2 relu(W1 z + b1) + b2)      hidden max(1, F // reduction)
        "field": out = x * a[..., None]           a [B, F]: one weight per field
        "dim":   out = x * a                      a [B, F * d] as [B, F, d]: one per value
    granularity="dim_shared": squeeze the F fields of each embedding dimension, excite over d
        z = mean_F x  (squeeze="mean")  or  z_j = x[:, :, j] . w + b, w [F]  (squeeze="dense")  [B, d]
        a = sigmoid(W2 relu(W1 z + b1) + b2)      hidden max(1, d // reduction)
        out = x * a[:, None, :]                   a [B, 1, d]: one weight per dimension, all fields
    The squeeze "dense" is the SENet article's remark that a recommender squeezes one axis
    only, which a learned dense layer can do instead of the mean. Hu et al.,
    "Squeeze-and-Excitation Networks", CVPR 2018; as a feature gate in FiBiNET, Huang et
    al., RecSys 2019.
    """

    def __init__(self, reduction=3, granularity="field", squeeze="mean", **kwargs):
        super().__init__(**kwargs)
        if granularity not in GRANULARITIES:
            raise ValueError(f"SENetGate granularity must be one of {GRANULARITIES}, got {granularity!r}")
        if squeeze not in SQUEEZES:
            raise ValueError(f"SENetGate squeeze must be one of {SQUEEZES}, got {squeeze!r}")
        self.reduction, self.granularity, self.squeeze_mode = reduction, granularity, squeeze

    def build(self, input_shape):
        f, d = input_shape[-2], input_shape[-1]
        self.fields, self.dim = f, d
        policy = self.dtype_policy
        shared = self.granularity == "dim_shared"
        width, reduced = (d, f) if shared else (f, d)  # what is excited, what is squeezed away
        if self.squeeze_mode == "dense":
            self.pool = keras.layers.Dense(1, dtype=policy)
            self.pool.build((None, reduced))
        self.squeeze = keras.layers.Dense(max(1, width // self.reduction), activation="relu", dtype=policy)
        self.excite = keras.layers.Dense(f * d if self.granularity == "dim" else width,
                                         activation="sigmoid", dtype=policy)
        self.squeeze.build((None, width))
        self.excite.build((None, self.squeeze.units))

    def call(self, inputs):
        shared = self.granularity == "dim_shared"
        if self.squeeze_mode == "dense":
            along = ops.transpose(inputs, (0, 2, 1)) if shared else inputs        # [B, width, reduced]
            z = ops.squeeze(self.pool(along), -1)
        else:
            z = ops.mean(inputs, axis=1 if shared else -1)
        gate = self.excite(self.squeeze(z))
        if self.granularity == "dim":
            return inputs * ops.reshape(gate, (-1, self.fields, self.dim))
        return inputs * ops.expand_dims(gate, 1 if shared else -1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction, "granularity": self.granularity,
                "squeeze": self.squeeze_mode}
