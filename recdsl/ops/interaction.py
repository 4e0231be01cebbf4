"""Interaction blocks: MLP, FM, DCN cross, FiBiNET bilinear, DLRM dot, attention, merges."""
from __future__ import annotations

from recdsl.ops.context import TypeProblem
from recdsl.ops.counting import ACTIVATIONS, BUILTIN_ACTIVATIONS, activation_params, dense_params
from recdsl.ops.gating import poso_params
from recdsl.ops.params import REQUIRED, SHARE, Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import SeqType, StackType, VectorType, shape_text


def _mlp_count(ctx, out) -> int:
    units = list(ctx.arg("units"))
    total = dense_params([ctx.inp("x").size, *units]) + activation_params(ctx.arg("activation"), units)
    if ctx.arg("norm") in ("batch", "layer"):
        total += 2 * sum(units)
    gate = ctx.arg("gate")
    if gate:
        total += sum(poso_params(ctx.gate_by_width, gate["units"], u) for u in units)
    return total


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
        SHARE,
    ),
    infer=lambda ctx: VectorType(ctx.arg("units")[-1]),
    count=_mlp_count,
    layer="recdsl.layers.mlp:MLPBlock", key_args=("units", "activation", "dropout", "norm", "gate"),
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
    example="block cross = cross(fields, layers=2)",
))


def _pairs(f: int) -> int:
    return f * (f - 1) // 2


def _bilinear_infer(ctx):
    fields = ctx.inp("fields")
    if fields.count < 2:
        raise TypeProblem("bilinear needs at least two fields", "pass a list of two or more fields", at="fields")
    return StackType(_pairs(fields.count), fields.dim)


def _bilinear_count(ctx, out) -> int:
    f, d = ctx.inp("fields").count, ctx.inp("fields").dim
    return {"field_all": 1, "field_each": f - 1, "field_interaction": _pairs(f)}[ctx.arg("type")] * d * d


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
    example="block pairs = bilinear(fields, type=field_all)",
))


def _dot_infer(ctx):
    f = ctx.inp("fields").count
    if f < 2 and not ctx.arg("self_interaction"):
        raise TypeProblem("dot needs at least two fields (one field has no pairs)",
                          "pass a list of two or more fields, or self_interaction=true", at="fields")
    return VectorType(f * (f + 1) // 2 if ctx.arg("self_interaction") else _pairs(f))


register(OpSpec(
    name="dot", family="block", label="dot interaction",
    summary="DLRM pairwise dot products <v_i, v_j> for i < j (i <= j with self_interaction).",
    inputs=(Input("fields", "fields"),),
    params=(Param("self_interaction", "bool", False, doc="include <v_i, v_i>"),),
    infer=_dot_infer, count=lambda ctx, out: 0,
    layer="recdsl.layers.dot:DotInteraction", key_args=("self_interaction",),
    example="block pairs = dot([user_id, item_id, item_cate])",
))


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
    layer="recdsl.layers.self_attention:SelfAttention",
    key_args=("style", "heads", "head_dim", "layers", "project", "output_proj"),
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
    layer="recdsl.layers.cross_attention:CrossAttention",
    key_args=("style", "heads", "head_dim", "layers", "project", "output_proj"),
    example="block target = cross_attention(query=item_id, keys=hist_items, heads=4)",
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
