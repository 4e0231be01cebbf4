"""Explicit-cross blocks: xDeepFM's CIN, DCN-Mix's mixture of low-rank experts, GDCN's gated cross.
(DCN's cross network itself is `cross`: interaction.py.)"""
from __future__ import annotations

from recdsl.ops.context import TypeProblem
from recdsl.ops.counting import BUILTIN_ACTIVATIONS
from recdsl.ops.params import Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import VectorType


def _cin_maps(ctx) -> list[tuple[int, int, int]]:
    """(size, maps passed to the next layer, maps kept for the output) per layer."""
    sizes, split = list(ctx.arg("sizes")), ctx.arg("split_half")
    odd = [s for s in sizes[:-1] if s % 2]
    if split and odd:
        raise TypeProblem(f"split_half=true halves every layer but the last; size {odd[0]} is odd",
                          "give even sizes before the last one, or set split_half=false", at="sizes")
    halves = [split and i < len(sizes) - 1 for i in range(len(sizes))]
    return [(s, s // 2, s - s // 2) if half else (s, s, s) for s, half in zip(sizes, halves)]


def _cin_infer(ctx):
    return VectorType(sum(kept for _, _, kept in _cin_maps(ctx)))


def _cin_count(ctx, out) -> int:
    f = hidden = ctx.inp("fields").count
    total = 0
    for size, passed, _ in _cin_maps(ctx):
        total += f * hidden * size + size
        hidden = passed
    return total


register(OpSpec(
    name="cin", family="block", label="CIN",
    summary="xDeepFM's compressed interaction network: each layer crosses the fields x0 [B, F, d] with the "
            "previous maps dim by dim and compresses them to `sizes[l]` maps (a 1x1 convolution and "
            "`activation`); each layer's kept maps are summed over the dim and concatenated. split_half "
            "passes half of each layer's maps on and keeps the other half (Lian et al., 2018).",
    inputs=(Input("fields", "fields"),),
    params=(
        Param("sizes", "int_list", [128, 128], low=1, doc="feature maps per layer"),
        Param("split_half", "bool", True, doc="pass half of each layer's maps on, output the other half"),
        Param("activation", "enum", "relu", choices=BUILTIN_ACTIVATIONS, doc="activation of every layer"),
    ),
    infer=_cin_infer, count=_cin_count,
    layer="recdsl.layers.cin:CompressedInteraction", key_args=("sizes", "split_half"),
    structure_args=("sizes",),
    example="block cin_maps = cin([user_id, item_id, item_cate], sizes=[128, 128])",
))


def _cross_mix_count(ctx, out) -> int:
    n, k, r = ctx.inp("x").size, ctx.arg("experts"), ctx.arg("rank")
    return ctx.arg("layers") * (k * (2 * n * r + r * r) + n) + n * k


register(OpSpec(
    name="cross_mix", family="block", label="DCN-Mix",
    summary="DCN-Mix cross layers: x_{l+1} = sum_i G_i(x_l) x0 * (U_i tanh(C_i tanh(V_i^T x_l)) + b) + x_l, "
            "`experts` low-rank (rank r) experts mixed by a softmax gate (Wang et al., 2021). [B, n] -> [B, n].",
    inputs=(Input("x", "vector"),),
    params=(
        Param("layers", "int", 2, low=1, doc="cross layers"),
        Param("experts", "int", 4, low=1, doc="low-rank experts per layer"),
        Param("rank", "int", 32, low=1, doc="rank of each expert"),
    ),
    infer=lambda ctx: VectorType(ctx.inp("x").size), count=_cross_mix_count,
    layer="recdsl.layers.cross_mix:CrossMixture", key_args=("layers", "experts", "rank"),
    structure_args=("layers", "experts"),
    example="block cross = cross_mix(fields, layers=2, experts=4, rank=32)",
))

register(OpSpec(
    name="gated_cross", family="block", label="gated cross",
    summary="GDCN's gated cross layers: x_{l+1} = x0 * (W_l x_l + b_l) * sigmoid(W_g x_l) + x_l "
            "(Wang et al., 2023). [B, n] -> [B, n].",
    inputs=(Input("x", "vector"),),
    params=(Param("layers", "int", 3, low=1, doc="gated cross layers"),),
    infer=lambda ctx: VectorType(ctx.inp("x").size),
    count=lambda ctx, out: ctx.arg("layers") * (2 * ctx.inp("x").size ** 2 + ctx.inp("x").size),
    layer="recdsl.layers.gated_cross:GatedCross", key_args=("layers",),
    structure_args=("layers",),
    example="block cross = gated_cross(fields, layers=3)",
))
