"""A task gate over experts: the softmax mixture of MMoE and PLE/CGC."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recdsl")
class ExpertMixture(keras.layers.Layer):
    """Mix K expert outputs with a gate computed from `by`: [experts [B, K, n], by [B, m]] -> [B, n].

        g = softmax(by W + b)          W [m, K], b [K]      g [B, K], sum_k g_k = 1
        out = sum_k g_k * experts[:, k, :]

    One such gate per task is MMoE (Ma et al., "Modeling Task Relationships in Multi-task
    Learning with Multi-gate Mixture-of-Experts", KDD 2018); a gate over that task's own
    experts plus the shared ones is CGC, and stacked levels of them are PLE (Tang et al.,
    "Progressive Layered Extraction", RecSys 2020). `gate_weights` returns g for diagnostics.
    """

    def build(self, input_shape):
        experts_shape, by_shape = input_shape
        self.gate = keras.layers.Dense(experts_shape[1], dtype=self.dtype_policy)
        self.gate.build((None, by_shape[-1]))

    def gate_weights(self, inputs):
        """g [B, K]: each expert's share of the mixture, per row."""
        _, by = inputs
        logits = self.gate(by)
        if self.gate.units == 1:  # one expert: the softmax is 1 (and keras warns about it)
            return ops.ones_like(logits)
        return ops.softmax(logits, axis=-1)

    def call(self, inputs):
        experts, _ = inputs
        g = self.gate_weights(inputs)
        return ops.sum(experts * ops.expand_dims(ops.cast(g, experts.dtype), -1), axis=1)

    def compute_output_shape(self, input_shape):
        experts_shape, _ = input_shape
        return (experts_shape[0], experts_shape[2])
