"""Output heads: a vector -> one logit -> a prediction, with its loss weight and label column;
and outputs computed from other outputs (ESMM's pCTCVR = pCTR x pCVR).

An output's `weight` is its loss weight in multi-task training; weight=0 serves an output
without training it on its own (ESMM's pCVR, trained only through pCTCVR).
"""
from __future__ import annotations

from dataclasses import dataclass

from recdsl.ops.context import TypeProblem
from recdsl.ops.params import Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import VectorType, shape_text


@dataclass(frozen=True)
class ProbabilityType(VectorType):
    """[B, 1] in (0, 1): the prediction of a sigmoid output (or of a product of them)."""

    describe = "a probability (a sigmoid output)"
    json_kind = "vector"


def _output_params():
    return (
        Param("weight", "float", 1.0, low=0.0,
              doc="loss weight in multi-task training; 0: served, not trained on its own label", to_layer=False),
        Param("label", "str", None, min_length=1, doc="label column, default the output's name",
              to_layer=False),
    )


for _name, _what, _loss, _head, _type in (
    ("sigmoid", "probability of a positive label (CTR, CVR)", "binary cross-entropy", "binary", ProbabilityType),
    ("linear", "real value (regression: watch time, rating)", "mean squared error", "mse", VectorType),
):
    register(OpSpec(
        name=_name, family="output", label=f"{_name} head",
        summary=f"Dense(1) over the input gives a {_what}; trained with {_loss}.",
        inputs=(Input("x", "vector"),),
        params=_output_params(),
        infer=lambda ctx, _type=_type: _type(1),
        count=lambda ctx, out: ctx.inp("x").size + 1,
        layer="recdsl.layers.head:PredictionHead", layer_args=(("kind", _name),), key_args=("weight", "label"),
        example=f"output ctr = {_name}(concat(cross, deep))", head=_head,
    ))


def _product_type(ctx):
    members = ctx.members.get("p") or [(f"p{i + 1}", t) for i, t in enumerate(ctx.inp("p") or ())]
    for name, t in members:
        if not isinstance(t, ProbabilityType):
            raise TypeProblem(f"`{name}` is {t.describe} {shape_text(t)}; product multiplies the probabilities "
                              f"of sigmoid outputs", f"make `{name}` an output: `output {name} = sigmoid(...)`",
                              at="p")
    if len(members) < 2:
        raise TypeProblem("product needs at least two probabilities", "e.g. product(ctr, cvr)", at="p")
    return ProbabilityType(1)


register(OpSpec(
    name="product", family="output", label="product of probabilities",
    summary="The product of other outputs' probabilities, p = p1 * p2 * ..., clipped to [1e-7, 1 - 1e-7] so its "
            "binary cross-entropy stays finite; trained with binary cross-entropy on its own label. ESMM's "
            "pCTCVR = pCTR * pCVR (Ma et al., Entire Space Multi-Task Model, SIGIR 2018): the losses on pCTR and "
            "pCTCVR train pCVR, which is served with weight=0.",
    inputs=(Input("p", "vector", variadic=True, doc="sigmoid outputs (their probabilities, not logits)"),),
    params=_output_params(),
    infer=_product_type,
    count=lambda ctx, out: 0,
    layer="recdsl.layers.head:ProbabilityProduct", key_args=("weight", "label"),
    example='output ctcvr = product(ctr, cvr, label="loved")', head="binary",
))


# --------------------------------------------------------------------------- served-only outputs

#: The head of outputs that are served, never trained: no label column, no loss, no metric.
SERVED_HEAD = "served"


@dataclass(frozen=True)
class AttentionNode:
    """What an `attention` input slot sees: a named node whose op has attention weights
    (OpSpec.attention) and `length`, the L positions its weights cover (those of its masked input)."""

    name: str
    op: str
    length: int
    describe = "an attention node"
    json_kind = "attention"

    @property
    def shape(self) -> tuple:
        return ("B", self.length)


@dataclass(frozen=True)
class AttentionWeightsType(VectorType):
    """[B, L] float32: an attention node's weight of each position, 0 at padding."""

    describe = "attention weights"
    json_kind = "vector"


register(OpSpec(
    name="attention_weights", family="output", label="attention weights",
    summary="The weights [B, L] an attention node gives each position of its sequence, as a served output: "
            "exactly the numbers its layer uses (its declared weights method, as the run report's diagnostics "
            "read them), 0 at padding, all zeros for a row with no valid position; din gives its unnormalised "
            "scores (or softmax, with normalize=softmax), attention and traditional_attention their softmax, "
            "self_attention and cross_attention the first layer's softmax averaged over the heads and the valid "
            "queries. No label, no loss, no metric: `recdsl predict` writes it as a list per row and "
            "`recdsl export` serves it (DIN-FCN's return_alphas; debugging attention from its weights).",
    inputs=(Input("x", "attention_node", doc="a named attention node (din, attention, traditional_attention, "
                                         "self_attention, cross_attention)"),),
    params=(),
    infer=lambda ctx: AttentionWeightsType(ctx.inp("x").length),
    count=lambda ctx, out: 0,
    layer="recdsl.layers.attention_output:AttentionWeightsOutput",
    example="output interest_weights = attention_weights(interest)", head=SERVED_HEAD,
))
