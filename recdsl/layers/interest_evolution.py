"""DIEN's interest evolution layer: a GRU steered by target attention (AUGRU, AGRU, AIGRU)."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.din import DinAttention
from recdsl.layers.masking import ExplicitMask, valid_mask, zero_padded
from recdsl.layers.recurrence import add_gru_weights, gate_count, run_gru

VARIANTS = ("augru", "agru", "aigru")


@keras.saving.register_keras_serializable(package="recdsl")
class InterestEvolution(ExplicitMask, keras.layers.Layer):
    """Interest evolution: query q [B, d], interest states h [B, L, d] (a GRU's outputs, padding at
    the end), mask [B, L] -> the final evolved state [B, units] (units defaults to d).

    Attention of the target over the valid steps, as DeepCTR's DIEN scores it: DIN's local
    activation unit (recdsl.layers.din.DinAttention) on [q, h_t, q - h_t, q * h_t], an MLP of
    `att_units` with `att_activation`, then softmax over the valid steps:
        a_t = softmax_t(MLP([q, h_t, q - h_t, q * h_t]))         (0 at padding)
    A second GRU (recdsl.layers.recurrence, reset gate as in `reset_after`) runs over h with a:
        augru: u'_t = a_t u_t,   h'_t = (1 - u'_t) h'_{t-1} + u'_t h~_t
        agru:  h'_t = (1 - a_t) h'_{t-1} + a_t h~_t              (no update gate: 2 gates)
        aigru: a GRU over the inputs a_t h_t
    A padded step leaves the state unchanged; the output is each row's state after its last valid
    step (zeros for an all-padding row). Zhou et al., "Deep Interest Evolution Network for
    Click-Through Rate Prediction", AAAI 2019.
    """

    def __init__(self, units=None, variant="augru", att_units=(64, 16), att_activation="dice", reset_after=False,
                 alpha_init=0.0, **kwargs):
        super().__init__(**kwargs)
        if variant not in VARIANTS:
            raise ValueError(f"InterestEvolution variant must be one of {VARIANTS}, got {variant!r}")
        self.units = None if units is None else int(units)
        self.variant, self.reset_after = variant, bool(reset_after)
        self.att_units, self.att_activation = [int(u) for u in att_units], att_activation
        self.alpha_init = float(alpha_init)
        self.attention = DinAttention(units=self.att_units, activation=att_activation, normalize="softmax",
                                      alpha_init=alpha_init, dtype=self.dtype_policy)

    def build(self, input_shape):
        query_shape, states_shape = input_shape
        self.attention.build((query_shape, states_shape))
        d = int(states_shape[-1])
        add_gru_weights(self, d, self.units or d, gates=gate_count(self.variant), reset_after=self.reset_after)

    def call(self, inputs, mask=None, training=None):
        query, states = inputs
        mask = valid_mask(mask, states)
        states = zero_padded(states, mask)
        scores = self._scores(query, states, mask, training)
        if self.variant == "aigru":
            return run_gru(self, states * ops.expand_dims(scores, -1), mask)[1]
        return run_gru(self, states, mask, attention=scores, update=self.variant)[1]

    def attention_weights(self, inputs, mask=None):
        """a [B, L]: the softmax attention of each step (0 at padding), as `call` uses it (inference mode)."""
        query, states = ops.convert_to_tensor(inputs[0]), ops.convert_to_tensor(inputs[1])
        mask = valid_mask(mask, states)
        return self._scores(query, zero_padded(states, mask), mask, False)

    def _scores(self, query, states, mask, training):
        # DinAttention's weights with its own softmax over valid steps (the pooled sum is not needed).
        return self.attention._weights(query, states, mask, training)

    def compute_output_shape(self, input_shape):
        states_shape = input_shape[1]
        return (states_shape[0], self.units or states_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "variant": self.variant,
                "att_units": list(self.att_units), "att_activation": self.att_activation,
                "reset_after": self.reset_after, "alpha_init": self.alpha_init}
