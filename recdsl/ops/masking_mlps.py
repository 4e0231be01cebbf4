"""MLPs with multiplicative, instance-guided masks: MaskNet's MaskBlock, FinalMLP's feature
selection and its bilinear fusion of two streams.

Serial MaskNet is a chain of maskblocks, each masking the previous block's output with a mask
from the embeddings (`maskblock(fields, hidden=previous, ...)`); parallel MaskNet is several
maskblocks over the embeddings, concatenated, under an MLP. FinalMLP is two MLP streams over
feature-selected embeddings (`feature_selection(fields, by=[user features])`), fused by
`bilinear_fusion(stream1, stream2)` into the logit.
"""
from __future__ import annotations

from recdsl.ops.context import TypeProblem
from recdsl.ops.counting import dense_params
from recdsl.ops.params import REQUIRED, Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import VectorType

#: How a maskblock normalises what it masks (None: field on the embeddings, none on hidden=).
MASK_NORMS = ("field", "layer", "none")


def aggregation_width(masked: int, reduction: float) -> int:
    """Neurons of a MaskBlock's aggregation layer: int(reduction * the masked width)."""
    return int(masked * reduction)


def _masked_width(ctx) -> int:
    hidden = ctx.inp("hidden")
    return hidden.size if hidden is not None else ctx.inp("fields").width


def _maskblock_norm(ctx) -> str:
    norm, with_hidden = ctx.arg("norm"), ctx.inp("hidden") is not None
    if with_hidden and norm == "field":
        raise TypeProblem("norm=field normalises each embedding field, but this maskblock masks `hidden`, a vector",
                          "leave norm out (the previous MaskBlock's output is already normalised), or write "
                          "norm=layer", at="norm")
    return norm or ("none" if with_hidden else "field")


def _maskblock_infer(ctx):
    _maskblock_norm(ctx)
    masked, reduction = _masked_width(ctx), ctx.arg("reduction")
    if aggregation_width(masked, reduction) < 1:
        raise TypeProblem(f"reduction={reduction:g} leaves the mask's aggregation layer no neurons "
                          f"(int({reduction:g} * {masked}) = 0)",
                          f"the aggregation layer has int(reduction * {masked}) neurons: give reduction of at least "
                          f"1/{masked} (the paper uses 2)", at="reduction")
    return VectorType(ctx.arg("units"))


def _maskblock_count(ctx, out) -> int:
    emb, masked, units = ctx.inp("fields").width, _masked_width(ctx), ctx.arg("units")
    mask = dense_params([emb, aggregation_width(masked, ctx.arg("reduction")), masked])
    norm = 0 if _maskblock_norm(ctx) == "none" else 2 * masked
    return mask + norm + masked * units + 2 * units


register(OpSpec(
    name="maskblock", family="block", label="MaskBlock",
    summary="MaskNet's MaskBlock: an instance-guided mask W2 relu(W1 e + b1) + b2 from the flattened embeddings "
            "e multiplies the normalised embeddings (no hidden=) or a hidden vector (hidden=, the previous "
            "block: serial MaskNet), then relu(LayerNorm(W .)) to `units` (Wang et al., 2021). The aggregation "
            "layer has int(reduction * n) neurons, n the masked width. [B, F, d] -> [B, units].",
    inputs=(Input("fields", "fields", doc="the feature embeddings: the mask's input, and what is masked "
                                          "without hidden="),
            Input("hidden", "vector", optional=True,
                  doc="a hidden vector to mask instead of the embeddings (serial MaskNet: the previous block)")),
    params=(
        Param("units", "int", REQUIRED, low=1, doc="output width of the block's feed-forward layer"),
        Param("reduction", "float", 1.0, low=0.0,
              doc="the paper's reduction ratio r: the mask's aggregation layer has int(r * n) neurons, n the "
                  "masked width (the paper uses 2)"),
        Param("norm", "enum", None, choices=MASK_NORMS,
              doc="LayerNorm of what is masked: per field (field, the paper's LN_EMB), over the whole vector "
                  "(layer), or none; default field on the embeddings, none on hidden="),
        Param("dropout", "float", 0.0, low=0.0, high=0.99, doc="dropout on the block's output"),
    ),
    infer=_maskblock_infer, count=_maskblock_count,
    layer="recdsl.layers.maskblock:MaskBlock", key_args=("units", "reduction", "norm", "dropout"),
    structure_args=("units",),
    example="block mask2 = maskblock(fields, hidden=mask1, units=64, reduction=2)",
))


def _selection_count(ctx, out) -> int:
    by = ctx.inp("by")
    context = by.size if by is not None else ctx.arg("context_dim")
    learned = 0 if by is not None else context
    return learned + dense_params([context, *ctx.arg("units"), out.size])


register(OpSpec(
    name="feature_selection", family="gate", label="feature selection",
    summary="FinalMLP's context-gated feature selection for one stream: g = 2 sigmoid(MLP(c)) per value of x, "
            "output g * x. The context c is `by` (the paper: user or item features), or without by= a learned "
            "vector of width context_dim (Mao et al., 2023). [B, n] -> [B, n].",
    inputs=(Input("x", "vector", doc="what is gated: the stream's input embeddings"),
            Input("by", "vector", optional=True, doc="the context features; without it a learned vector")),
    params=(
        Param("units", "int_list", [64], low=1, min_items=0, doc="hidden widths of the gate MLP ([] for none)"),
        Param("context_dim", "int", 16, low=1, doc="width of the learned context without by="),
    ),
    infer=lambda ctx: VectorType(ctx.inp("x").size), count=_selection_count,
    layer="recdsl.layers.feature_selection:FeatureSelection", key_args=("units", "context_dim"),
    example="gate user_view = feature_selection(fields, by=[user_id, age])",
))


def _fusion_infer(ctx):
    heads = ctx.arg("heads")
    for slot in ("x", "y"):
        width = ctx.inp(slot).size
        if width % heads:
            raise TypeProblem(f"bilinear_fusion heads={heads} must divide the width of `{slot}` ({width})",
                              f"choose heads dividing both widths ({ctx.inp('x').size} and {ctx.inp('y').size})",
                              at="heads")
    return VectorType(1)


def _fusion_count(ctx, out) -> int:
    n, m, heads = ctx.inp("x").size, ctx.inp("y").size, ctx.arg("heads")
    return 1 + n + m + heads * (n // heads) * (m // heads)


register(OpSpec(
    name="bilinear_fusion", family="block", label="bilinear fusion",
    summary="FinalMLP's multi-head bilinear fusion of two streams to a logit: b + w_x . x + w_y . y + "
            "sum_h x_h^T W_h y_h over `heads` equal chunks of x and y (Mao et al., 2023). [B, n], [B, m] -> [B, 1].",
    inputs=(Input("x", "vector", doc="the first stream's output"), Input("y", "vector", doc="the second's")),
    params=(Param("heads", "int", 1, low=1, doc="chunks of x and y fused separately; divides both widths"),),
    infer=_fusion_infer, count=_fusion_count,
    layer="recdsl.layers.bilinear_fusion:BilinearFusion", key_args=("heads",),
    example="block logit = bilinear_fusion(stream1, stream2, heads=2)",
))
