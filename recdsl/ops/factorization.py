"""Factorization-machine family blocks: field-weighted FM, attentional FM, PNN's kernel product.
(FM itself and NFM's bi-interaction are `fm`, IPNN's inner products are `dot`: interaction.py.)"""
from __future__ import annotations

from recdsl.ops.counting import field_pairs, paired_fields
from recdsl.ops.params import Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import VectorType


def _fwfm_infer(ctx):
    paired_fields(ctx)
    return VectorType(1)


register(OpSpec(
    name="fwfm", family="block", label="FwFM",
    summary="Field-weighted FM: sum_{i<j} r_ij <v_i, v_j>, one learned weight per field pair "
            "(Pan et al., 2018). [B, F, d] -> [B, 1], F >= 2.",
    inputs=(Input("fields", "fields"),), params=(),
    infer=_fwfm_infer,
    count=lambda ctx, out: field_pairs(ctx.inp("fields").count),
    layer="recdsl.layers.fwfm:FieldWeightedFM",
    example="block fwfm_term = fwfm([user_id, item_id, item_cate])",
))


def _afm_infer(ctx):
    paired_fields(ctx)
    return VectorType(1 if ctx.arg("reduce") else ctx.inp("fields").dim)


def _afm_count(ctx, out) -> int:
    d, t = ctx.inp("fields").dim, ctx.arg("units")
    return d * t + 2 * t + (d if ctx.arg("reduce") else 0)


register(OpSpec(
    name="afm", family="block", label="AFM",
    summary="Attentional FM: softmax attention (an MLP of `units`, ReLU) over the pairwise products "
            "v_i * v_j, pooled to [B, d], then projected to [B, 1] (reduce=true) (Xiao et al., 2017). F >= 2.",
    inputs=(Input("fields", "fields"),),
    params=(
        Param("units", "int", 8, low=1, doc="width of the attention MLP (the paper's t)"),
        Param("dropout", "float", 0.0, low=0.0, high=0.99, doc="dropout on the pooled products"),
        Param("reduce", "bool", True, doc="project the pooled [B, d] to one value with p"),
    ),
    infer=_afm_infer,
    count=_afm_count,
    layer="recdsl.layers.afm:AttentionalFM", key_args=("units", "reduce"),
    structure_args=("units",),
    example="block afm_term = afm([user_id, item_id, item_cate], units=8)",
))


def _outer_count(ctx, out) -> int:
    d = ctx.inp("fields").dim
    return field_pairs(ctx.inp("fields").count) * {"mat": d * d, "vec": d, "num": 1}[ctx.arg("kernel")]


register(OpSpec(
    name="outer_product", family="block", label="outer product",
    summary="PNN's kernel product of every field pair: v_i^T W_ij v_j (kernel=mat), sum_k v_ik w_ijk v_jk "
            "(vec) or w_ij <v_i, v_j> (num) (OPNN, Qu et al., 2016). [B, F, d] -> [B, F(F-1)/2], F >= 2. "
            "IPNN's inner products are `dot`.",
    inputs=(Input("fields", "fields"),),
    params=(Param("kernel", "enum", "mat", choices=("mat", "vec", "num"),
                  doc="a d x d matrix, a d-vector or a scalar per pair"),),
    infer=lambda ctx: VectorType(field_pairs(paired_fields(ctx))),
    count=_outer_count,
    layer="recdsl.layers.outer_product:OuterProduct", key_args=("kernel",),
    structure_args=("kernel",),
    example="block products = outer_product([user_id, item_id, item_cate], kernel=mat)",
))
