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
    excite = f * d if ctx.arg("granularity") == "dim" else f
    return dense_params([f, senet_hidden(f, ctx.arg("reduction")), excite])


register(OpSpec(
    name="senet", family="gate", label="SENet gate",
    summary="Squeeze each field to its mean, excite through a bottleneck MLP (ReLU then sigmoid), and "
            "re-weight the fields (granularity=field) or every value (granularity=dim) "
            "(Hu et al., 2018; FiBiNET, Huang et al., 2019).",
    inputs=(Input("fields", "fields"),),
    params=(
        Param("reduction", "int", 3, low=1, doc="bottleneck ratio: hidden = max(1, F // reduction)"),
        Param("granularity", "enum", "field", choices=("field", "dim")),
    ),
    infer=lambda ctx: ctx.inp("fields"),
    count=_senet_count,
    layer="recdsl.layers.senet:SENetGate", key_args=("reduction", "granularity"),
    example="gate fields = senet([user, item_id, interest], reduction=3)",
))


def poso_params(by_width: int, units: int, width: int) -> int:
    """One gate network by -> units -> width."""
    return dense_params([by_width, units, width])


register(OpSpec(
    name="poso", family="gate", label="POSO gate",
    summary="Personalised gating: a small MLP over the personalisation features gives "
            "scale * sigmoid(...) per neuron, multiplying x (Dai et al., 2021). Inside mlp(gate=poso(...)) "
            "every hidden layer gets its own gate network.",
    inputs=(Input("x", "vector"), Input("by", "vector")),
    params=(
        Param("units", "int", 32, low=1, doc="hidden width of each gate network"),
        Param("scale", "float", 2.0, low=0.0, doc="gate range is (0, scale)"),
    ),
    infer=lambda ctx: VectorType(ctx.inp("x").size),
    count=lambda ctx, out: poso_params(ctx.inp("by").size, ctx.arg("units"), out.size),
    layer="recdsl.layers.poso:PosoGate", key_args=("units", "scale"),
    example="gate personal = poso(deep, by=[user_id, age])",
))

