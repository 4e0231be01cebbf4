"""GRU over a masked behaviour sequence, with DIEN's auxiliary loss (the interest extractor)."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, valid_mask, zero_padded
from recdsl.layers.recurrence import add_gru_weights, run_gru

AUX_NETS = ("mlp", "dot")


@keras.saving.register_keras_serializable(package="recdsl")
class MaskedGRU(ExplicitMask, keras.layers.Layer):
    """A GRU over a masked sequence x [B, L, d] (oldest first, padding at the end), h_0 = 0:

        u_t  = sigmoid(x_t W_u + h_{t-1} U_u + b_u)                  update gate
        r_t  = sigmoid(x_t W_r + h_{t-1} U_r + b_r)                  reset gate
        h~_t = tanh(x_t W_c + (r_t * h_{t-1}) U_c + b_c)             reset_after=false (the paper's GRU)
        h~_t = tanh(x_t W_c + b_c + r_t * (h_{t-1} U_c + b'_c))      reset_after=true (Keras' default)
        h_t  = (1 - u_t) * h_{t-1} + u_t * h~_t                      at a valid step; h_t = h_{t-1} at padding

    output="sequence": every state, padded steps 0, [B, L, units] (the mask kept);
    output="final": each row's state after its last valid step, [B, units] (0 for an all-padding row).
    units defaults to d. The paper's convention (u weighs the candidate) is Keras' with z = 1 - u.

    Auxiliary loss (aux_loss = alpha > 0; DIEN's interest extractor, Zhou et al., "Deep Interest
    Evolution Network for Click-Through Rate Prediction", AAAI 2019): state h_t should predict the
    next behaviour e_{t+1} against a negative n_{t+1}. The data has no sampled negatives: n is the
    batch rolled by one row (row i's negative at step t+1 is row i-1's item there; a batch of one
    row is its own negative). Over the pairs P = {(i, t): steps t and t+1 of row i and step t+1 of
    row i-1 all valid},

        L_aux = 1/|P| sum_P [softplus(-s(h_t, e_{t+1})) + softplus(s(h_t, n_{t+1}))]
              = -1/|P| sum_P [log sigmoid(s(h_t, e_{t+1})) + log(1 - sigmoid(s(h_t, n_{t+1})))]

    (0 when P is empty), with s = the logit of DeepCTR's auxiliary net (aux_net="mlp": concat(h, e)
    -> Dense(aux_units, sigmoid) ... -> Dense(1)) or the paper's inner product (aux_net="dot":
    s = h . e, needs units = d). The mean over valid pairs keeps the loss independent of the
    padding and of L (DeepCTR averages over B (L - 1) pairs, padding included; the paper sums over
    steps and averages over rows). In training the layer adds alpha * L_aux with `add_loss`; Keras
    adds it to the model's training loss.
    """

    def __init__(self, units=None, output="sequence", reset_after=False, aux_loss=0.0, aux_net="mlp",
                 aux_units=(100, 50), **kwargs):
        super().__init__(**kwargs)
        if output not in ("sequence", "final"):
            raise ValueError(f"MaskedGRU output must be 'sequence' or 'final', got {output!r}")
        if aux_net not in AUX_NETS:
            raise ValueError(f"MaskedGRU aux_net must be one of {AUX_NETS}, got {aux_net!r}")
        self.units = None if units is None else int(units)
        self.output_mode, self.reset_after = output, bool(reset_after)
        self.aux_loss, self.aux_net, self.aux_units = float(aux_loss), aux_net, [int(u) for u in aux_units]
        policy = self.dtype_policy
        self.aux_layers = []
        if self.aux_loss > 0 and aux_net == "mlp":
            self.aux_layers = [keras.layers.Dense(u, activation="sigmoid", dtype=policy) for u in self.aux_units]
            self.aux_layers.append(keras.layers.Dense(1, dtype=policy))

    def build(self, input_shape):
        d = int(input_shape[-1])
        units = self.units or d
        add_gru_weights(self, d, units, gates=3, reset_after=self.reset_after)
        if self.aux_loss > 0 and self.aux_net == "dot" and units != d:
            raise ValueError(f"MaskedGRU aux_net='dot' needs units == input width, got {units} and {d}")
        width = units + d
        for layer in self.aux_layers:
            layer.build(tuple(input_shape[:-1]) + (width,))
            width = layer.units

    def call(self, inputs, mask=None, training=None):
        mask = valid_mask(mask, inputs)
        states, final = run_gru(self, zero_padded(inputs, mask), mask)
        if training and self.aux_loss > 0:
            self.add_loss(ops.cast(self.aux_loss, "float32") * self.auxiliary_loss(inputs, mask, states))
        return states if self.output_mode == "sequence" else final

    def auxiliary_loss(self, inputs, mask=None, states=None):
        """L_aux (unweighted, float32 scalar) of the sequence `inputs` [B, L, d] with `mask` [B, L]."""
        mask = valid_mask(mask, inputs)
        inputs = zero_padded(inputs, mask)
        if states is None:
            states = run_gru(self, inputs, mask)[0]
        if inputs.shape[1] is not None and inputs.shape[1] < 2:
            return ops.zeros((), "float32")
        negatives, negative_mask = ops.roll(inputs, 1, axis=0), ops.roll(mask, 1, axis=0)
        pairs = ops.logical_and(ops.logical_and(mask[:, :-1], mask[:, 1:]), negative_mask[:, 1:])
        h = states[:, :-1]
        positive = self._aux_logit(h, inputs[:, 1:])
        negative = self._aux_logit(h, negatives[:, 1:])
        terms = ops.softplus(-positive) + ops.softplus(negative)
        pairs = ops.cast(pairs, "float32")
        total = ops.sum(ops.where(pairs > 0, ops.cast(terms, "float32"), 0.0))
        return total / ops.maximum(ops.sum(pairs), 1.0)

    def _aux_logit(self, h, e):
        """s(h_t, e) [B, L - 1]."""
        if self.aux_net == "dot":
            return ops.sum(h * e, axis=-1)
        z = ops.concatenate([h, e], axis=-1)
        for layer in self.aux_layers:
            z = layer(z)
        return ops.squeeze(z, -1)

    def compute_output_shape(self, input_shape):
        units = self.units or input_shape[-1]
        if self.output_mode == "sequence":
            return tuple(input_shape[:-1]) + (units,)
        return (input_shape[0], units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "output": self.output_mode,
                "reset_after": self.reset_after, "aux_loss": self.aux_loss, "aux_net": self.aux_net,
                "aux_units": list(self.aux_units)}
