"""Pooling ops: a masked bag or sequence [B, L, d] -> one field [B, d] (or a re-weighted sequence)."""
from __future__ import annotations

from recdsl.ops.attention_weights import target_attention_weights, traditional_attention_weights
from recdsl.ops.context import TypeProblem
from recdsl.ops.counting import ACTIVATIONS, activation_params, dense_params, learned_slope_start
from recdsl.ops.params import ALPHA_INIT, SHARE, Param
from recdsl.ops.registry import Attention, Input, OpSpec, register
from recdsl.ops.types import FieldType, SeqType

for _name, _what in (("sum", "sum"), ("avg", "mean"), ("max", "maximum")):
    register(OpSpec(
        name=_name, family="pool", label=f"{_name} pool",
        summary=f"Masked {_what} over the valid positions; an empty bag gives zeros.",
        inputs=(Input("x", "sequence", mask="consume"),), params=(),
        infer=lambda ctx: FieldType(ctx.inp("x").dim),
        count=lambda ctx, out: 0,
        layer="recdsl.layers.pooling:MaskedPool", layer_args=(("mode", _name),),
        example=f"pool genres_vec = {_name}(genres)",
    ))


def _query_matches(ctx, what: str) -> None:
    q, k = ctx.inp("query"), ctx.inp("keys")
    if q.width != k.dim:
        raise TypeProblem(
            f"{what} query is {q.width} wide but keys are {k.dim} wide "
            f"({_names(ctx, 'query')} vs {_names(ctx, 'keys')})",
            "give the query and the key features the same total embedding dim", at="query")


def _names(ctx, slot: str) -> str:
    members = ctx.members.get(slot, [])
    return " + ".join(f"{n}:{t.width if not hasattr(t, 'dim') else t.dim}" for n, t in members) or slot


def _pooled_or_sequence(ctx, dim: int):
    keys = ctx.inp("keys")
    return SeqType(keys.length, dim) if ctx.arg("output") == "sequence" else FieldType(dim)


def _din_infer(ctx):
    _query_matches(ctx, "din")
    learned_slope_start(ctx)
    return _pooled_or_sequence(ctx, ctx.inp("keys").dim)


def _din_count(ctx, out) -> int:
    units = list(ctx.arg("units"))
    d = ctx.inp("keys").dim
    return dense_params([4 * d, *units, 1]) + activation_params(ctx.arg("activation"), units)


_output = Param("output", "enum", "pooled", choices=("pooled", "sequence"),
                doc="the weighted sum [B, d], or the weighted sequence [B, L, d]")

register(OpSpec(
    name="din", family="pool", label="DIN attention",
    summary="Deep Interest Network local activation unit: an MLP scores each history item from "
            "[q, k, q-k, q*k]; padded positions are masked; weights are unnormalised unless "
            "normalize=softmax (Zhou et al., 2018).",
    inputs=(Input("query", "query"), Input("keys", "sequence", mask="consume")),
    params=(
        Param("units", "int_list", [80, 40], low=1, doc="hidden sizes of the attention MLP"),
        Param("activation", "enum", "dice", choices=("dice", "prelu", "sigmoid", "relu"),
              doc="activation of the attention MLP"),
        Param("normalize", "enum", "none", choices=("none", "softmax"),
              doc="none keeps DIN's unnormalised weights; softmax normalises over valid positions"),
        _output, ALPHA_INIT, SHARE,
    ),
    infer=_din_infer, count=_din_count,
    layer="recdsl.layers.din:DinAttention", key_args=("units", "activation", "normalize", "output"),
    structure_args=("units", "activation"),
    attention=Attention(normalize=lambda args: args["normalize"]),
    example="pool interest = din(query=[item_id, item_cate], keys=[hist_items, hist_cates], units=[80, 40])",
))


def _attention_infer(ctx):
    q, k = ctx.inp("query"), ctx.inp("keys")
    values = ctx.inp("values") or k
    if ctx.inp("values") is not None and values.length != k.length:
        raise TypeProblem(f"values have length {values.length} but keys have length {k.length}",
                          "values and keys must describe the same positions", at="values")
    if not ctx.arg("transform") and ctx.arg("score") in ("dot", "scaled_dot") and q.width != k.dim:
        _query_matches(ctx, f"{ctx.arg('score')} attention")
    return _pooled_or_sequence(ctx, values.dim)


def _attention_count(ctx, out) -> int:
    dq, dk = ctx.inp("query").width, ctx.inp("keys").dim
    total = 0
    if ctx.arg("transform"):
        total += dk * dq + (dq if ctx.arg("key_bias") else 0)
        dk = dq
    score = ctx.arg("score")
    if score == "bilinear":
        total += dq * dk
    elif score == "additive":
        h = ctx.arg("units")
        total += dq * h + dk * h + h + h
    return total


register(OpSpec(
    name="attention", family="pool", label="target attention",
    summary="Target attention: the keys are transformed by a learned dense layer (transform=true), "
            "scored against the query (dot, scaled_dot, bilinear or additive), masked-softmaxed, and "
            "the values pooled. Chain two to get dual (two-stage) attention.",
    inputs=(Input("query", "query"), Input("keys", "sequence", mask="consume"),
            Input("values", "sequence", optional=True, mask="aligned")),
    params=(
        Param("score", "enum", "scaled_dot", choices=("dot", "scaled_dot", "bilinear", "additive"),
              doc="q.k, q.k/sqrt(d), q W k, or v.tanh(Wq q + Wk k + b)"),
        Param("transform", "bool", True, doc="learn a dense transform of the keys to the query width"),
        Param("units", "int", 32, low=1, doc="hidden width of the additive score"),
        _output,
        Param("key_bias", "bool", True,
              doc="a bias bk in the key transform K Wk + bk; it adds the same q . bk to every position's "
                  "dot, scaled_dot or bilinear score, which the softmax cancels (false: the attention "
                  "article's transform, without it)"),
        Param("scale", "enum", "query", choices=("query", "mean", "key"),
              doc="scaled_dot divides by sqrt(c): c = the query width dq, (dk + dq) / 2 with dk the keys' "
                  "width before the transform (the attention article's), or dk"),
        SHARE,
    ),
    infer=_attention_infer, count=_attention_count,
    layer="recdsl.layers.attention:TargetAttention", key_args=("score", "transform", "output"),
    structure_args=("score",),
    attention=Attention(normalize=lambda args: "softmax"), weights=target_attention_weights,
    example="pool ta = attention(query=item_id, keys=hist_items, score=scaled_dot)",
))


def _traditional_infer(ctx):
    learned_slope_start(ctx)
    x = ctx.inp("x")
    return SeqType(x.length, x.dim) if ctx.arg("output") == "sequence" else FieldType(x.dim)


def _traditional_count(ctx, out) -> int:
    d, u = ctx.inp("x").dim, ctx.arg("units")
    return d * u + u + u + activation_params(ctx.arg("activation"), [u])


register(OpSpec(
    name="traditional_attention", family="pool", label="traditional attention",
    summary="Query-free attention: each valid position is scored by a small MLP of its own embedding "
            "(FC -> activation -> FC to one score, no bias), the scores are softmaxed over the valid "
            "positions, and the sequence is summed with those weights (output=pooled) or re-weighted "
            "(output=sequence). The Mogujie article's traditional attention: positions never interact.",
    inputs=(Input("x", "sequence", mask="consume"),),
    params=(
        Param("units", "int", 32, low=1, doc="hidden width of the scoring MLP"),
        Param("activation", "enum", "relu", choices=ACTIVATIONS, doc="activation of the hidden layer"),
        _output, ALPHA_INIT, SHARE,
    ),
    infer=_traditional_infer, count=_traditional_count,
    layer="recdsl.layers.traditional_attention:TraditionalAttention", key_args=("units", "activation", "output"),
    structure_args=("units", "activation"),
    attention=Attention(normalize=lambda args: "softmax"), weights=traditional_attention_weights,
    example="pool interest = traditional_attention(hist_items, units=32)",
))
