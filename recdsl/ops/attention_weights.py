"""The learned weights of the attention ops, by role and shape: what `share=` matches.

Two nodes share weights by role name (recdsl.layers.shared_weights makes them the same
variables). The roles the attention ops have in common:
    key [d_k, w], key_bias [w]   the learned transform of each position before it is scored:
                                 attention's K Wk + bk (transform=true), traditional_attention's
                                 first FC, self_attention's / cross_attention's W_K, b_K
    query, value, output (+ _bias), residual
                                 self_attention's and cross_attention's other weights (first
                                 layer; stacked layer i > 0 suffixes _i)
Others are an op's own: attention's bilinear, additive_query, additive_key, additive_bias,
additive_v; traditional_attention's score [u, 1]. A learned activation's slopes (prelu,
dice) have no role: only a node of the same op and arguments (which reuses the whole layer)
shares them.
"""
from __future__ import annotations

from recdsl.ops.context import TypeProblem

#: Stacked layers whose weights `share=` compares one by one (beyond: a located error).
MAX_SHARED_LAYERS = 64


def target_attention_weights(ctx) -> dict[str, tuple]:
    dq, dk = ctx.inp("query").width, ctx.inp("keys").dim
    out: dict[str, tuple] = {}
    if ctx.arg("transform"):
        out["key"] = (dk, dq)
        if ctx.arg("key_bias"):
            out["key_bias"] = (dq,)
        dk = dq
    if ctx.arg("score") == "bilinear":
        out["bilinear"] = (dq, dk)
    elif ctx.arg("score") == "additive":
        h = ctx.arg("units")
        out.update(additive_query=(dq, h), additive_key=(dk, h), additive_bias=(h,), additive_v=(h,))
    return out


def traditional_attention_weights(ctx) -> dict[str, tuple]:
    d, u = ctx.inp("x").dim, ctx.arg("units")
    return {"key": (d, u), "key_bias": (u,), "score": (u, 1)}


def self_attention_weights(ctx) -> dict[str, tuple]:
    d = ctx.inp("x").dim
    return _stack_weights(ctx, d, d, d, follow=True)


def cross_attention_weights(ctx) -> dict[str, tuple]:
    keys = ctx.inp("keys")
    values = ctx.inp("values") or keys
    return _stack_weights(ctx, ctx.inp("query").dim, keys.dim, values.dim, follow=False)


def _option(ctx, name: str):
    styles = {"autoint": {"bias": False, "residual": True}, "standard": {"bias": True, "residual": False}}
    value = ctx.arg(name)
    return styles[ctx.arg("style")][name] if value is None else value


def _stack_weights(ctx, d_query: int, d_keys: int, d_values: int, follow: bool) -> dict[str, tuple]:
    """The weights of self/cross-attention's stacked layers (recdsl.layers.self_attention.AttentionStack)."""
    heads, project, style = ctx.arg("heads"), ctx.arg("project"), ctx.arg("style")
    if ctx.arg("layers") > MAX_SHARED_LAYERS:
        raise TypeProblem(f"share= compares the weights of at most {MAX_SHARED_LAYERS} stacked layers, "
                          f"got layers={ctx.arg('layers')}", "share fewer layers", at="layers")
    out_proj = ctx.arg("output_proj")
    if out_proj is None:
        out_proj = d_query if style == "standard" and project else 0
    head = ctx.arg("head_dim") or (d_query if style == "autoint" else d_query // heads)
    bias, residual, out = _option(ctx, "bias"), _option(ctx, "residual"), {}
    for i in range(ctx.arg("layers")):
        suffix = f"_{i}" if i else ""
        if follow:
            d_keys = d_values = d_query
        inner = heads * head if project else d_values
        shapes = [("query", d_query, inner), ("key", d_keys, inner), ("value", d_values, inner)] if project else []
        width = out_proj or inner
        if out_proj:
            shapes.append(("output", inner, width))
        for name, d_in, d_out in shapes:
            out[name + suffix] = (d_in, d_out)
            if bias:
                out[f"{name}_bias{suffix}"] = (d_out,)
        if residual:
            out["residual" + suffix] = (d_query, width)
        d_query = width
    return out


def shape_list(weights: dict[str, tuple], roles) -> str:
    """`key [8, 8], key_bias [8]`: roles with their shapes, for messages."""
    return ", ".join(f"{r} [{', '.join(str(n) for n in weights[r])}]" for r in roles)
