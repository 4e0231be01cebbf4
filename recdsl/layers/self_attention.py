"""Multi-head self-attention over fields or a masked sequence, in AutoInt's form or the standard one."""
from __future__ import annotations

import math
from typing import NamedTuple

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask, masked_softmax, valid_mask, zero_padded
from recdsl.layers.shared_weights import RoleWeights
from recdsl.ops.counting import BUILTIN_ACTIVATIONS

#: What an option left unset (None) means in each style. head_dim and output_proj depend on the
#: query width d too: autoint takes head_dim d and no output projection; standard takes
#: head_dim d / heads and an output projection back to d (none when project=False).
STYLES = {
    "autoint": {"bias": False, "residual": True, "activation": "relu"},
    "standard": {"bias": True, "residual": False, "activation": "linear"},
}


class Step(NamedTuple):
    """One stacked attention layer's widths."""

    query: int      # d_q, the width of its queries
    keys: int       # d_k
    values: int     # d_v
    head: int       # dh, the width of one head's queries and keys
    value_head: int  # the width of one head's values
    output: int     # the output projection's width, 0 for none
    out: int        # its output width: output, or H times value_head


class AttentionStack(RoleWeights, ExplicitMask, keras.layers.Layer):
    """The options, widths and weights SelfAttention and CrossAttention share: `layers` stacked
    multi-head attention steps (see SelfAttention for the formula). Weights by role (`share=`):
    query, key, value, output, their _bias, residual; layer i > 0 suffixes _i (query_1, ...)."""

    def __init__(self, heads=2, head_dim=None, layers=1, residual=None, style="autoint", project=True,
                 bias=None, activation=None, output_proj=None, **kwargs):
        super().__init__(**kwargs)
        if style not in STYLES:
            raise ValueError(f"{type(self).__name__} style must be one of {tuple(STYLES)}, got {style!r}")
        if activation is not None and activation not in BUILTIN_ACTIVATIONS:
            raise ValueError(f"{type(self).__name__} activation must be one of {BUILTIN_ACTIVATIONS}, "
                             f"got {activation!r}")
        self.heads, self.head_dim, self.depth, self.residual = heads, head_dim, layers, residual
        self.style, self.project, self.bias, self.activation = style, project, bias, activation
        self.output_proj = output_proj

    def option(self, name: str):
        """An option's value, the style's when unset."""
        value = getattr(self, name)
        return STYLES[self.style][name] if value is None else value

    def plan(self, d_query: int, d_keys: int, d_values: int, follow: bool) -> list[Step]:
        """The widths of each stacked layer; `follow`: keys and values are the layer's own input."""
        name, heads = type(self).__name__, self.heads
        out_proj = self.output_proj
        if out_proj is None:
            out_proj = d_query if self.style == "standard" and self.project else 0
        if self.bias and not (self.project or out_proj):
            raise ValueError(f"{name} bias=True needs a learned projection (project=True or output_proj)")
        if self.project:
            head = self.head_dim or (d_query if self.style == "autoint" else d_query // heads)
            if not self.head_dim and self.style == "standard" and d_query % heads:
                raise ValueError(f"{name} width {d_query} is not divisible by heads={heads}: give head_dim")
        elif self.head_dim is not None:
            raise ValueError(f"{name} head_dim needs project=True (without projections a head is d / heads)")
        steps = []
        for _ in range(self.depth):
            if follow:
                d_keys = d_values = d_query
            if self.project:
                qk, v = head, head
            else:
                if d_query != d_keys or d_keys % heads or d_values % heads:
                    raise ValueError(f"{name} without projections needs query width {d_query} == key width "
                                     f"{d_keys} and key and value widths divisible by heads={heads}")
                qk, v = d_keys // heads, d_values // heads
            steps.append(Step(d_query, d_keys, d_values, qk, v, out_proj, out_proj or heads * v))
            d_query = steps[-1].out
        return steps

    def make_weights(self, i: int, step: Step) -> dict:
        """Layer i's weights: W_Q, W_K, W_V [d, H dh] (project), W_O (output_proj), W_res (residual),
        and biases b_Q, b_K, b_V, b_O of the learned projections (bias)."""
        heads, bias, weights = self.heads, self.option("bias"), {}
        shapes = []
        if self.project:
            shapes += [("query", step.query, heads * step.head), ("key", step.keys, heads * step.head),
                       ("value", step.values, heads * step.value_head)]
        if step.output:
            shapes.append(("output", heads * step.value_head, step.out))
        suffix = f"_{i}" if i else ""
        for name, d_in, d_out in shapes:
            weights[name] = self.role_weight(name + suffix, (d_in, d_out), name=f"{name}_{i}")
            if bias:
                weights[f"{name}_bias"] = self.role_weight(f"{name}_bias{suffix}", (d_out,), initializer="zeros",
                                                           name=f"{name}_bias_{i}")
        if self.option("residual"):
            weights["residual"] = self.role_weight("residual" + suffix, (step.query, step.out), name=f"residual_{i}")
        return weights

    def attend(self, step: Step, weights: dict, x, keys, values, keys_ok):
        """One layer: act(concat_h softmax(Q_h K_h^T / sqrt(dh)) V_h [W_O + b_O] [+ x W_res])."""
        v = self._dense(values, weights, "value") if self.project else values
        probs = self.probabilities(step, weights, x, keys, keys_ok)
        out = ops.transpose(ops.matmul(probs, self._split(v, step.value_head)), (0, 2, 1, 3))  # [B, Lq, H, dv]
        out = ops.reshape(out, (-1, ops.shape(x)[1], self.heads * step.value_head))
        if "output" in weights:
            out = self._dense(out, weights, "output")
        if "residual" in weights:
            out = out + ops.matmul(x, weights["residual"])
        activation = self.option("activation")
        return ops.relu(out) if activation == "relu" else keras.activations.get(activation)(out)

    def probabilities(self, step: Step, weights: dict, x, keys, keys_ok):
        """One layer's attention weights softmax(Q_h K_h^T / sqrt(dh)) [B, H, Lq, Lk] (masked keys: 0)."""
        q, k = x, keys
        if self.project:
            q, k = self._dense(x, weights, "query"), self._dense(keys, weights, "key")
        q, k = self._split(q, step.head), self._split(k, step.head)
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(step.head)   # [B, H, Lq, Lk]
        if keys_ok is None:
            return ops.softmax(scores, axis=-1)
        return masked_softmax(scores, keys_ok[:, None, None, :])

    def mean_weights(self, x, keys, keys_ok, rows_ok):
        """The first layer's weight of each key [B, Lk], averaged over the heads and the valid query
        rows `rows_ok` [B, Lq] (0 at padded keys; a row with no valid query or key: zeros)."""
        probs = ops.mean(self.probabilities(self.steps[0], self.projections[0], x, keys, keys_ok), axis=1)
        rows = ops.cast(rows_ok, probs.dtype)
        total = ops.sum(probs * ops.expand_dims(rows, -1), axis=1)
        return total / ops.maximum(ops.sum(rows, axis=1, keepdims=True), 1.0)

    @staticmethod
    def _dense(t, weights, name):
        out = ops.matmul(t, weights[name])
        return out + weights[f"{name}_bias"] if f"{name}_bias" in weights else out

    def _split(self, t, width):
        return ops.transpose(ops.reshape(t, (-1, ops.shape(t)[1], self.heads, width)), (0, 2, 1, 3))

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "head_dim": self.head_dim, "layers": self.depth,
                "residual": self.residual, "style": self.style, "project": self.project, "bias": self.bias,
                "activation": self.activation, "output_proj": self.output_proj}


@keras.saving.register_keras_serializable(package="recdsl")
class SelfAttention(AttentionStack):
    """Multi-head self-attention x [B, N, d] (N fields, or a sequence with mask [B, N]) -> [B, N, w].

    Each of `layers` stacked layers, on its input x (the previous layer's output):
        Q = x W_Q + b_Q,  K = x W_K + b_K,  V = x W_V + b_V     W_* [d, H dh]   (project=True)
        Q = K = V = x, split into H heads of d / H               (project=False)
        head h:  A_h = softmax(Q_h K_h^T / sqrt(dh)) V_h         (masked keys get weight 0)
        a   = concat_h A_h W_O + b_O                             (output_proj=w; else w = H dh)
        out = act(a + x W_res)                                   (residual; else act(a))
    b_* exist with bias=True, W_res has none. Padded query rows are zeroed after every layer,
    so an all-padding row gives zeros. Options left unset take the style's values:
        style="autoint"   head_dim d, no biases, no output projection, residual, ReLU
                          (Song et al., "AutoInt", CIKM 2019);
        style="standard"  head_dim d / H, biases, output projection to d, no residual, linear,
                          as keras.layers.MultiHeadAttention (Vaswani et al., "Attention Is All
                          You Need", NeurIPS 2017). With project=False and heads=1 it is the
                          plain softmax(x x^T / sqrt(d)) x.
    """

    def build(self, input_shape):
        d = input_shape[-1]
        self.steps = self.plan(d, d, d, follow=True)
        self.projections = [self.make_weights(i, step) for i, step in enumerate(self.steps)]

    def call(self, inputs, mask=None):
        x = inputs
        keys_ok = None if mask is None else valid_mask(mask, inputs)
        if keys_ok is not None:
            # Padded rows hold 0 from here on: a masked key gets weight 0, but 0 * inf = NaN.
            x = zero_padded(x, keys_ok)
        for step, weights in zip(self.steps, self.projections):
            x = self.attend(step, weights, x, x, x, keys_ok)
            if keys_ok is not None:
                x = zero_padded(x, keys_ok)
        return x

    def attention_weights(self, inputs, mask=None):
        """[B, L]: the first layer's weight of each position, averaged over the heads and the valid
        query positions (a distribution over the valid positions; 0 at padding; an all-padding
        row gives zeros). The report's attention diagnostics read it."""
        if not self.built:
            self.build(tuple(inputs.shape))
            self.built = True
        ok = valid_mask(mask, inputs)
        x = zero_padded(inputs, ok)
        return self.mean_weights(x, x, ok, ok)

    def compute_output_shape(self, input_shape):
        d = input_shape[-1]
        return tuple(input_shape[:-1]) + (self.plan(d, d, d, follow=True)[-1].out,)
