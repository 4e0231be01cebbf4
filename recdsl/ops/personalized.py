"""Personalised gates from prior information (PEPNet, Chang et al., KDD 2023): EPNet scales the
embeddings by a gate over the domain features; PPNet (Kuaishou, 2021) is an MLP whose every hidden
layer is scaled by its own gate over the personalised prior (user and item ids).

Both gates are Gate NUs, scale * sigmoid(W2 relu(W1 z + b1) + b2) (scale 2: the paper's gamma), over
z = [by, stop_gradient(the value they scale)]: the stop-gradient (the paper's ⊘) keeps the gate from
training that value through its input. stop_gradient=false lets it.

    gate  personal = epnet(fields, by=[item_genre])
    block deep     = ppnet(personal, by=[user_id, item_id], units=[256, 128, 64])
"""
from __future__ import annotations

from recdsl.ops.counting import ACTIVATIONS, activation_params, dense_params
from recdsl.ops.params import REQUIRED, Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import StackType, VectorType

_scale = Param("scale", "float", 2.0, low=0.0,
               doc="gate range (0, scale): 2 is the paper's gamma, leaving the value unchanged on average at the start")
_stop = Param("stop_gradient", "bool", True,
              doc="the gate reads the value it scales through a stop-gradient (the paper), so that value is not "
                  "trained through the gate's input; false lets it")


def gate_nu_params(prior: int, units: int, width: int) -> int:
    """One Gate NU prior -> units -> width."""
    return dense_params([prior, units, width])


def _epnet_count(ctx, out) -> int:
    width = out.count * out.dim if ctx.arg("granularity") == "dim" else out.count
    return gate_nu_params(ctx.inp("by").size + out.count * out.dim, ctx.arg("units"), width)


register(OpSpec(
    name="epnet", family="gate", label="EPNet gate",
    summary="PEPNet's embedding personalisation: g = scale * sigmoid(W2 relu(W1 [by, sg(E)] + b1) + b2) over the "
            "domain features and the stop-gradient embeddings, output g * E, one gate per value (granularity=dim, "
            "the paper's δ ⊗ E) or per field (field) (Chang et al., 2023). [B, F, d] -> [B, F, d].",
    inputs=(Input("fields", "fields", doc="the embedding fields to scale"),
            Input("by", "vector", doc="the domain features (scenario ids, domain statistics)")),
    params=(
        Param("units", "int", 64, low=1, doc="hidden width of the gate network"),
        _scale,
        Param("granularity", "enum", "dim", choices=("dim", "field"),
              doc="one gate per embedding value (dim, the paper) or per field (field)"),
        _stop,
    ),
    infer=lambda ctx: StackType(ctx.inp("fields").count, ctx.inp("fields").dim),
    count=_epnet_count,
    layer="recdsl.layers.epnet:EPNetGate", key_args=("units", "scale", "granularity", "stop_gradient"),
    structure_args=("granularity",),
    example="gate personal = epnet(fields, by=[item_genre])",
))


def _ppnet_count(ctx, out) -> int:
    n, units, gate_units = ctx.inp("x").size, ctx.arg("units"), ctx.arg("gate_units")
    prior = ctx.inp("by").size + n
    gates = sum(gate_nu_params(prior, gate_units, u) for u in units)
    return dense_params([n, *units]) + activation_params(ctx.arg("activation"), units) + gates


register(OpSpec(
    name="ppnet", family="block", label="PPNet",
    summary="Kuaishou's Parameter Personalized Network: Dense layers whose every hidden output is scaled by its own "
            "gate scale * sigmoid(W2 relu(W1 [by, sg(x)] + b1) + b2) over the personalised prior (user and item "
            "ids) and the stop-gradient input x (Chang et al., PEPNet, 2023). [B, n] -> [B, units[-1]].",
    inputs=(Input("x", "vector", doc="the MLP's input (EPNet-scaled embeddings in PEPNet)"),
            Input("by", "vector", doc="the personalised prior: user, item (and author) id embeddings")),
    params=(
        Param("units", "int_list", REQUIRED, low=1, doc="widths of the hidden layers, each gated"),
        Param("gate_units", "int", 64, low=1, doc="hidden width of each layer's gate network"),
        _scale,
        Param("activation", "enum", "relu", choices=ACTIVATIONS, doc="activation of every hidden layer"),
        Param("dropout", "float", 0.0, low=0.0, high=0.99, doc="dropout after each gated layer"),
        _stop,
    ),
    infer=lambda ctx: VectorType(ctx.arg("units")[-1]),
    count=_ppnet_count,
    layer="recdsl.layers.ppnet:PPNetBlock",
    key_args=("units", "gate_units", "scale", "activation", "dropout", "stop_gradient"),
    structure_args=("units",),
    example="block deep = ppnet(personal, by=[user_id, item_id], units=[256, 128, 64])",
))
