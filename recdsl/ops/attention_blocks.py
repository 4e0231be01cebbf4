"""Attention blocks: multi-head self-attention and cross-attention (AutoInt's and the standard form)."""
from __future__ import annotations

from recdsl.ops.attention_weights import cross_attention_weights, self_attention_weights
from recdsl.ops.context import TypeProblem
from recdsl.ops.counting import BUILTIN_ACTIVATIONS
from recdsl.ops.params import SHARE, Param
from recdsl.ops.registry import Attention, Input, OpSpec, register
from recdsl.ops.types import SeqType, StackType


def _same_kind(x, width: int):
    return SeqType(x.length, width) if isinstance(x, SeqType) else StackType(x.count, width)


#: What an attention option left unset means in each style (head_dim and output_proj: _attention_layers).
_ATTENTION_STYLES = {
    "autoint": {"bias": False, "residual": True, "activation": "relu"},
    "standard": {"bias": True, "residual": False, "activation": "linear"},
}


def _attention_option(ctx, name: str):
    value = ctx.arg(name)
    return _ATTENTION_STYLES[ctx.arg("style")][name] if value is None else value


def _attention_layers(ctx, d_query: int, d_keys: int, d_values: int, follow: bool) -> tuple[int, int]:
    """(output width, parameters) of self/cross-attention's stacked layers; `follow`: each layer's keys
    and values are its own input (self-attention). Every layer after the first maps the same widths,
    so two are enough for any `layers` (closed form)."""
    heads, head_dim, project = ctx.arg("heads"), ctx.arg("head_dim"), ctx.arg("project")
    out_proj = ctx.arg("output_proj")
    if out_proj is None:
        out_proj = d_query if ctx.arg("style") == "standard" and project else 0
    if ctx.arg("bias") and not (project or out_proj):
        raise TypeProblem("bias=true, but there is nothing to bias: no projections (project=false) and no "
                          "output projection", "drop bias=, or add output_proj=WIDTH", at="bias")
    if not project and head_dim is not None:
        raise TypeProblem("head_dim needs project=true: without projections each head takes d / heads of the input",
                          "drop head_dim=, or set project=true", at="head_dim")
    if project and head_dim is None:
        head_dim = d_query if ctx.arg("style") == "autoint" else d_query // heads
        if ctx.arg("style") == "standard" and d_query % heads:
            raise TypeProblem(f"width {d_query} is not divisible by heads={heads} (style=standard splits the "
                              "width between the heads)", f"choose heads dividing {d_query}, or give head_dim",
                              at="heads")
    bias, residual, params = _attention_option(ctx, "bias"), _attention_option(ctx, "residual"), []
    for _ in range(min(ctx.arg("layers"), 2)):
        if follow:
            d_keys = d_values = d_query
        if project:
            inner = heads * head_dim
            total = (d_query + d_keys + d_values) * inner + (3 * inner if bias else 0)
        else:
            _unprojected(d_query, d_keys, d_values, heads)
            inner, total = d_values, 0
        out = out_proj or inner
        total += (inner * out + (out if bias else 0) if out_proj else 0) + (d_query * out if residual else 0)
        params.append(total)
        d_query = out
    return d_query, params[0] + (ctx.arg("layers") - 1) * params[-1]


def _unprojected(d_query: int, d_keys: int, d_values: int, heads: int) -> None:
    if d_query != d_keys:
        raise TypeProblem(f"without projections (project=false) queries and keys need one width, got {d_query} "
                          f"and {d_keys}", "set project=true, or give them the same width", at="project")
    for what, d in (("key", d_keys), ("value", d_values)):
        if d % heads:
            raise TypeProblem(f"without projections (project=false) the heads split the {what} width {d}, "
                              f"which heads={heads} does not divide", f"choose heads dividing {d}", at="heads")


def _self_attention_layers(ctx) -> tuple[int, int]:
    d = ctx.inp("x").dim
    return _attention_layers(ctx, d, d, d, follow=True)


#: The options self_attention and cross_attention share (the style's default differs).
_ATTENTION_PARAMS = (
    Param("heads", "int", 2, low=1, doc="attention heads"),
    Param("head_dim", "int", None, low=1,
          doc="width per head (project=true); unset: d (autoint) or d / heads (standard)"),
    Param("layers", "int", 1, low=1, doc="stacked attention layers"),
    Param("residual", "bool", None,
          doc="add a projected residual x W_res before the activation; unset: true (autoint), false (standard)"),
    Param("project", "bool", True,
          doc="learned query/key/value projections; false: the inputs themselves (self-attention: Q = K = V = x), "
              "split between the heads"),
    Param("bias", "bool", None, doc="biases on the learned projections; unset: false (autoint), true (standard)"),
    Param("activation", "enum", None, choices=BUILTIN_ACTIVATIONS,
          doc="output activation; unset: relu (autoint), linear (standard)"),
    Param("output_proj", "int", None, low=0,
          doc="width of an output projection W_O after the heads, 0 for none; unset: none (autoint), "
              "the query width d (standard with project=true)"),
)

register(OpSpec(
    name="self_attention", family="block", label="self-attention",
    summary="Multi-head self-attention over fields [B, F, d] or a masked sequence [B, L, d]: per head "
            "softmax(Q K^T / sqrt(dh)) V over the valid positions, heads concatenated, then an optional output "
            "projection, projected residual and activation. style=autoint (the default) is AutoInt's "
            "ReLU(heads + x W_res) without biases (Song et al., 2019); style=standard is "
            "keras.layers.MultiHeadAttention's form: biases, d / heads per head, an output projection to d, "
            "linear (Vaswani et al., 2017). project=false attends over the inputs themselves: "
            "softmax(X X^T / sqrt(d)) X with heads=1.",
    inputs=(Input("x", "fields_or_sequence", mask="consume"),),
    params=(
        Param("style", "enum", "autoint", choices=("autoint", "standard"),
              doc="what unset options mean: AutoInt's interacting layer or the standard multi-head attention"),
        *_ATTENTION_PARAMS,
        SHARE,
    ),
    infer=lambda ctx: _same_kind(ctx.inp("x"), _self_attention_layers(ctx)[0]),
    count=lambda ctx, out: _self_attention_layers(ctx)[1],
    layer="recdsl.layers.self_attention:SelfAttention", weights=self_attention_weights,
    attention=Attention(normalize=lambda args: "softmax"),
    key_args=("style", "heads", "head_dim", "layers", "project", "output_proj"),
    structure_args=("style", "heads", "layers"),
    example="block sa = self_attention(hist_items, style=standard, heads=4)",
))


def _cross_attention_layers(ctx) -> tuple[int, int]:
    q, k, v = ctx.inp("query"), ctx.inp("keys"), ctx.inp("values")
    if v is not None and _positions(v) != _positions(k):
        raise TypeProblem(f"values have {_positions(v)} positions but keys have {_positions(k)}",
                          "values and keys must describe the same positions", at="values")
    return _attention_layers(ctx, q.dim, k.dim, (v or k).dim, follow=False)


def _positions(t) -> int:
    return t.length if isinstance(t, SeqType) else t.count


register(OpSpec(
    name="cross_attention", family="block", label="cross-attention",
    summary="Multi-head cross-attention: queries [B, Lq, d] (a sequence, fields, or one field as [B, 1, d]) "
            "attend over keys [B, Lk, dk] and pool values (default: the keys) per head, "
            "softmax(Q K^T / sqrt(dh)) V over the valid keys, with self_attention's options; the style "
            "defaults to standard (keras.layers.MultiHeadAttention, Vaswani et al., 2017). A sequence "
            "query keeps its mask; a row with no valid key gives zeros.",
    inputs=(Input("query", "fields_or_sequence", mask="keep"),
            Input("keys", "fields_or_sequence", mask="consume"),
            Input("values", "fields_or_sequence", optional=True, mask="aligned")),
    params=(
        Param("style", "enum", "standard", choices=("autoint", "standard"),
              doc="what unset options mean: the standard multi-head attention or AutoInt's interacting layer"),
        *_ATTENTION_PARAMS,
        SHARE,
    ),
    infer=lambda ctx: _same_kind(ctx.inp("query"), _cross_attention_layers(ctx)[0]),
    count=lambda ctx, out: _cross_attention_layers(ctx)[1],
    layer="recdsl.layers.cross_attention:CrossAttention", weights=cross_attention_weights,
    attention=Attention(normalize=lambda args: "softmax"),
    key_args=("style", "heads", "head_dim", "layers", "project", "output_proj"),
    structure_args=("style", "heads", "layers"),
    example="block target = cross_attention(query=item_id, keys=hist_items, heads=4)",
))
