"""Interaction blocks: MLP, FM, DCN cross, FiBiNET bilinear, DLRM dot, transformer, merges
(self- and cross-attention: recdsl.ops.attention_blocks)."""
from __future__ import annotations

from recdsl.ops.context import TypeProblem
from recdsl.ops.counting import (
    ACTIVATIONS,
    activation_params,
    dense_params,
    field_pairs,
    learned_slope_start,
    paired_fields,
)
from recdsl.ops.gating import poso_params
from recdsl.ops.params import ALPHA_INIT, REQUIRED, SHARE, Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import StackType, VectorType, shape_text


def _mlp_count(ctx, out) -> int:
    units = list(ctx.arg("units"))
    total = dense_params([ctx.inp("x").size, *units]) + activation_params(ctx.arg("activation"), units)
    if ctx.arg("norm") in ("batch", "layer"):
        total += 2 * sum(units)
    gate = ctx.arg("gate")
    if gate:
        total += sum(poso_params(ctx.gate_by_width, gate["units"], u) for u in units)
    return total


def _mlp_infer(ctx):
    learned_slope_start(ctx)
    return VectorType(ctx.arg("units")[-1])


register(OpSpec(
    name="mlp", family="block", label="MLP",
    summary="Dense layers (Dense -> norm -> activation -> dropout). gate=poso(by=...) multiplies "
            "every layer's neurons by a personalised gate.",
    inputs=(Input("x", "vector"),),
    params=(
        Param("units", "int_list", REQUIRED, low=1, doc="layer widths"),
        Param("activation", "enum", "relu", choices=ACTIVATIONS, doc="activation of every layer"),
        Param("dropout", "float", 0.0, low=0.0, high=0.99, doc="dropout rate after each layer"),
        Param("norm", "enum", "none", choices=("none", "batch", "layer"), doc="normalisation before the activation"),
        Param("gate", "call", None, calls=("poso",), doc="poso(by=[...]) personalised neuron gating"),
        ALPHA_INIT, SHARE,
    ),
    infer=_mlp_infer,
    count=_mlp_count,
    layer="recdsl.layers.mlp:MLPBlock", key_args=("units", "activation", "dropout", "norm", "gate"),
    structure_args=("units", "activation"),
    example="block deep = mlp(fields, units=[256, 128, 64], dropout=0.1)",
))

register(OpSpec(
    name="fm", family="block", label="FM",
    summary="Factorization-machine second-order term 0.5 * ((sum_i v_i)^2 - sum_i v_i^2), summed over "
            "the dim (reduce=true, [B, 1]) or kept per dim (reduce=false, [B, d], NFM's bi-interaction).",
    inputs=(Input("fields", "fields"),),
    params=(Param("reduce", "bool", True, doc="sum over the dim to one value"),),
    infer=lambda ctx: VectorType(1 if ctx.arg("reduce") else ctx.inp("fields").dim),
    count=lambda ctx, out: 0,
    layer="recdsl.layers.fm:FMInteraction", key_args=("reduce",),
    example="block fm = fm([user_id, item_id, item_cate])",
))


def _cross_count(ctx, out) -> int:
    n, layers, rank = ctx.inp("x").size, ctx.arg("layers"), ctx.arg("rank")
    if ctx.arg("version") == "v1":
        return layers * 2 * n
    if rank:
        return layers * (2 * n * rank + n)
    return layers * (n * n + n)


register(OpSpec(
    name="cross", family="block", label="DCN cross",
    summary="Cross network: x_{l+1} = x0 * (W x_l + b) + x_l (v2, Wang et al., 2021; rank= makes W = U V), "
            "or x0 (x_l . w) + b + x_l (v1, Wang et al., 2017).",
    inputs=(Input("x", "vector"),),
    params=(
        Param("layers", "int", 2, low=1, doc="cross layers"),
        Param("version", "enum", "v2", choices=("v1", "v2"), doc="DCN v1 (vector weights) or v2 (matrix)"),
        Param("rank", "int", None, low=1, doc="low-rank factorisation of W (v2)"),
    ),
    infer=lambda ctx: VectorType(ctx.inp("x").size),
    count=_cross_count,
    layer="recdsl.layers.cross:CrossNetwork", key_args=("layers", "version", "rank"),
    structure_args=("layers", "version"),
    example="block cross = cross(fields, layers=2)",
))


def _bilinear_infer(ctx):
    return StackType(field_pairs(paired_fields(ctx)), ctx.inp("fields").dim)


def _bilinear_count(ctx, out) -> int:
    f, d = ctx.inp("fields").count, ctx.inp("fields").dim
    return {"field_all": 1, "field_each": f - 1, "field_interaction": field_pairs(f)}[ctx.arg("type")] * d * d


register(OpSpec(
    name="bilinear", family="block", label="bilinear",
    summary="FiBiNET bilinear interaction: for every pair of fields i < j, p_ij = (v_i W) * v_j, with one "
            "W shared by all pairs (field_all), one per field i (field_each) or one per pair "
            "(field_interaction) (Huang et al., 2019). [B, F, d] -> [B, F(F-1)/2, d].",
    inputs=(Input("fields", "fields"),),
    params=(Param("type", "enum", "field_interaction", choices=("field_all", "field_each", "field_interaction"),
                  doc="how many bilinear matrices: one, one per field, one per pair"),),
    infer=_bilinear_infer, count=_bilinear_count,
    layer="recdsl.layers.bilinear:BilinearInteraction", key_args=("type",),
    structure_args=("type",),
    example="block pairs = bilinear(fields, type=field_all)",
))


def _dot_infer(ctx):
    if ctx.arg("self_interaction"):
        return VectorType(ctx.inp("fields").count * (ctx.inp("fields").count + 1) // 2)
    return VectorType(field_pairs(paired_fields(ctx, "pass a list of two or more fields, or self_interaction=true")))


register(OpSpec(
    name="dot", family="block", label="dot interaction",
    summary="DLRM pairwise dot products <v_i, v_j> for i < j (i <= j with self_interaction).",
    inputs=(Input("fields", "fields"),),
    params=(Param("self_interaction", "bool", False, doc="include <v_i, v_i>"),),
    infer=_dot_infer, count=lambda ctx, out: 0,
    layer="recdsl.layers.dot:DotInteraction", key_args=("self_interaction",),
    example="block pairs = dot([user_id, item_id, item_cate])",
))


def _transformer_infer(ctx):
    x = ctx.inp("x")
    if x.dim % ctx.arg("heads"):
        raise TypeProblem(f"transformer width {x.dim} is not divisible by heads={ctx.arg('heads')}",
                          f"choose heads dividing {x.dim}", at="heads")
    return x


def _transformer_count(ctx, out) -> int:
    d, ff = ctx.inp("x").dim, ctx.arg("ff") or 4 * ctx.inp("x").dim
    return ctx.arg("layers") * (4 * (d * d + d) + 4 * d + d * ff + ff + ff * d + d)


register(OpSpec(
    name="transformer", family="block", label="transformer",
    summary="Transformer encoder layers (post-norm): x = LN(x + MHA(x)); x = LN(x + FFN(x)), padding masked "
            "(Vaswani et al., 2017; BST, Chen et al., 2019).",
    inputs=(Input("x", "fields_or_sequence", mask="consume"),),
    params=(
        Param("heads", "int", 2, low=1, doc="attention heads; must divide the width"),
        Param("ff", "int", None, low=1, doc="feed-forward width, default 4 * d"),
        Param("layers", "int", 1, low=1, doc="encoder layers"),
        Param("dropout", "float", 0.0, low=0.0, high=0.99, doc="dropout in attention and feed-forward"),
        Param("causal", "bool", False, doc="each position attends only to earlier ones"),
        SHARE,
    ),
    infer=_transformer_infer, count=_transformer_count,
    layer="recdsl.layers.transformer:TransformerEncoder", key_args=("heads", "ff", "layers"),
    structure_args=("heads", "layers"),
    example="block encoded = transformer(hist_items, heads=2, layers=1)",
))

register(OpSpec(
    name="concat", family="block", label="concat",
    summary="Flatten every input to [B, n_i] and concatenate: [B, sum n_i].",
    inputs=(Input("x", "vector", variadic=True),), params=(), layer_args=(("mode", "concat"),),
    infer=lambda ctx: VectorType(sum(t.size for t in ctx.inp("x"))),
    count=lambda ctx, out: 0,
    layer="recdsl.layers.merge:Merge", example="block both = concat(cross, deep)",
))


def _input_names(ctx, types) -> list[str]:
    """One name per variadic input: the member's name, or `[a, b]` for a list argument."""
    members, names, at = ctx.members.get("x", []), [], 0
    for t in types:
        if at < len(members) and members[at][1] == t:
            names.append(members[at][0])
            at += 1
        else:
            count = len(getattr(t, "items", ())) or 1
            names.append("[" + ", ".join(n for n, _ in members[at:at + count]) + "]")
            at += count
    return names


def _elementwise_infer(ctx):
    types = ctx.inp("x")
    if len({t.shape for t in types}) > 1:
        shapes = ", ".join(f"{n} {shape_text(t)}" for n, t in zip(_input_names(ctx, types), types))
        raise TypeProblem(f"{ctx.op.name} needs inputs of one shape, got {shapes}",
                          "project them to one width first (e.g. with mlp)", at="x")
    return types[0]


def _subtract_infer(ctx):
    if len(ctx.inp("x")) != 2:
        raise TypeProblem(f"subtract takes exactly two inputs, got {len(ctx.inp('x'))}",
                          "write subtract(a, b) for a - b", at="x")
    return _elementwise_infer(ctx)


register(OpSpec(
    name="subtract", family="block", label="subtract",
    summary="Element-wise x_1 - x_2 of two inputs of one shape (the Mogujie article fuses the target "
            "and history sides by add, subtract or multiply).",
    inputs=(Input("x", "any", variadic=True, mask="keep"),), params=(), layer_args=(("mode", "subtract"),),
    infer=_subtract_infer, count=lambda ctx, out: 0,
    layer="recdsl.layers.merge:Merge", example="block gap = subtract(target_vec, history_vec)",
))

for _name, _sign in (("add", "+"), ("multiply", "*")):
    register(OpSpec(
        name=_name, family="block", label=_name,
        summary=f"Element-wise x_1 {_sign} x_2 {_sign} ... of inputs of one shape.",
        inputs=(Input("x", "any", variadic=True, mask="keep"),), params=(), layer_args=(("mode", _name),),
        infer=_elementwise_infer, count=lambda ctx, out: 0,
        layer="recdsl.layers.merge:Merge", example=f"block both = {_name}(a, b)",
    ))
