"""Gating ops: re-weight fields (SENet) or neurons (POSO) from learned gates."""
from __future__ import annotations

from recdsl.ops.counting import dense_params
from recdsl.ops.params import Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import VectorType


def senet_hidden(fields: int, reduction: int) -> int:
    return max(1, fields // reduction)


def _senet_count(ctx, out) -> int:
    f, d = out.count, out.dim
    granularity = ctx.arg("granularity")
    width, reduced = (d, f) if granularity == "dim_shared" else (f, d)
    excite = f * d if granularity == "dim" else width
    pool = reduced + 1 if ctx.arg("squeeze") == "dense" else 0
    return pool + dense_params([width, senet_hidden(width, ctx.arg("reduction")), excite])


register(OpSpec(
    name="senet", family="gate", label="SENet gate",
    summary="Squeeze each field to one value (its mean, or a learned dense layer), excite through a bottleneck "
            "MLP (ReLU then sigmoid), and re-weight: one weight per field (granularity=field, [B, F, 1]), per "
            "value (dim, [B, F, d]), or per embedding dimension shared by the fields (dim_shared: the fields "
            "squeezed instead, [B, 1, d]) (Hu et al., 2018; FiBiNET, Huang et al., 2019).",
    inputs=(Input("fields", "fields"),),
    params=(
        Param("reduction", "int", 3, low=1,
              doc="bottleneck ratio: hidden = max(1, n // reduction), n = F (d for dim_shared)"),
        Param("granularity", "enum", "field", choices=("field", "dim", "dim_shared"),
              doc="weights [B, F, 1] (field), [B, F, d] (dim) or [B, 1, d] (dim_shared)"),
        Param("squeeze", "enum", "mean", choices=("mean", "dense"),
              doc="squeeze by the mean (SENet), or a learned dense layer to one value (w . x + b)"),
    ),
    infer=lambda ctx: ctx.inp("fields"),
    count=_senet_count,
    layer="recdsl.layers.senet:SENetGate", key_args=("reduction", "granularity", "squeeze"),
    structure_args=("reduction",),
    example="gate fields = senet([user, item_id, interest], reduction=3)",
))


def poso_params(by_width: int, units: int, width: int) -> int:
    """One gate network by -> units -> width."""
    return dense_params([by_width, units, width])


register(OpSpec(
    name="poso", family="gate", label="POSO gate",
    summary="Personalised gating: a small MLP over the personalisation features gives "
            "g = scale * sigmoid(W2 relu(W1 by + b1) + b2) per neuron, multiplying x. scale=2 (the default) is "
            "the POSO paper's 2 * sigmoid, which leaves x unchanged on average at the gate's start (Dai et al., "
            "2021); scale=1 is the plain sigmoid gate of the SENet/POSO article. Inside mlp(gate=poso(...)) "
            "every hidden layer gets its own gate network.",
    inputs=(Input("x", "vector"), Input("by", "vector")),
    params=(
        Param("units", "int", 32, low=1, doc="hidden width of each gate network"),
        Param("scale", "float", 2.0, low=0.0,
              doc="gate range is (0, scale): 2 is the POSO paper's 2 * sigmoid, 1 the article's plain sigmoid"),
    ),
    infer=lambda ctx: VectorType(ctx.inp("x").size),
    count=lambda ctx, out: poso_params(ctx.inp("by").size, ctx.arg("units"), out.size),
    layer="recdsl.layers.poso:PosoGate", key_args=("units", "scale"),
    structure_args=("units",),
    example="gate personal = poso(deep, by=[user_id, age])",
))

