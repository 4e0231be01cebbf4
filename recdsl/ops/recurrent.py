"""Recurrent ops: DIEN's GRU interest extractor (with its auxiliary loss) and its attention-steered
interest evolution (AUGRU, AGRU, AIGRU). Zhou et al., AAAI 2019."""
from __future__ import annotations

from recdsl.ops.context import TypeProblem
from recdsl.ops.counting import LEARNED_ACTIVATIONS, activation_params, dense_params
from recdsl.ops.params import ALPHA_INIT, Param
from recdsl.ops.registry import Attention, Input, OpSpec, register
from recdsl.ops.types import BagType, FieldType, SeqType, shape_text

_AUX_DEFAULTS = {"aux_net": "mlp", "aux_units": [100, 50]}


def gru_weights(d: int, units: int, gates: int, reset_after: bool) -> int:
    """kernel [d, G h], recurrent kernel [h, G h], bias [G h] (and a recurrent bias [G h] with reset_after)."""
    return gates * (d * units + units * units + units) + (gates * units if reset_after else 0)


def _ordered(ctx, slot: str, op: str):
    x = ctx.inp(slot)
    if isinstance(x, BagType):
        raise TypeProblem(f"{op} runs over an ordered sequence, but {x.describe} {shape_text(x)} has no order",
                          "pass a sequence(...) feature or a sequence block (oldest first)", at=slot)
    return x


def _gru_infer(ctx):
    x = _ordered(ctx, "x", "gru")
    units = ctx.arg("units") or x.dim
    if ctx.arg("aux_loss") > 0:
        if x.length < 2:
            raise TypeProblem(f"the auxiliary loss pairs each step with the next one, but the sequence has "
                              f"{x.length} step", "drop aux_loss=, or use a longer sequence", at="aux_loss")
        if ctx.arg("aux_net") == "dot" and units != x.dim:
            raise TypeProblem(f"aux_net=dot scores h_t . e_(t+1): the states are {units} wide but the sequence "
                              f"is {x.dim} wide", f"set units={x.dim}, or use aux_net=mlp", at="aux_net")
    else:
        for name, default in _AUX_DEFAULTS.items():
            if ctx.arg(name) != default:
                raise TypeProblem(f"{name}= configures the auxiliary loss, but aux_loss is 0 (no auxiliary loss)",
                                  f"set aux_loss= to its weight (DIEN's alpha, e.g. aux_loss=1.0), or drop {name}=",
                                  at=name)
    return SeqType(x.length, units) if ctx.arg("output") == "sequence" else FieldType(units)


def _gru_count(ctx, out) -> int:
    d = ctx.inp("x").dim
    units = ctx.arg("units") or d
    total = gru_weights(d, units, 3, ctx.arg("reset_after"))
    if ctx.arg("aux_loss") > 0 and ctx.arg("aux_net") == "mlp":
        total += dense_params([units + d, *ctx.arg("aux_units"), 1])
    return total


_RESET_AFTER = Param("reset_after", "bool", False,
                     doc="false: the paper's GRU, h~ = tanh(x W_c + (r * h) U_c + b_c); true: Keras' default, "
                         "h~ = tanh(x W_c + b_c + r * (h U_c + b'_c)) with a recurrent bias")
_UNITS = Param("units", "int", None, low=1, doc="state width h; unset: the sequence's width d")

register(OpSpec(
    name="gru", family="block", label="GRU",
    summary="A GRU over a masked sequence, oldest first (DIEN's interest extractor, Zhou et al., 2019): "
            "u = sigmoid(x W_u + h U_u + b_u), r likewise, h~ = tanh(x W_c + (r * h) U_c + b_c), "
            "h_t = (1 - u) * h_{t-1} + u * h~; a padded step keeps the state and outputs 0. "
            "output=sequence gives every state [B, L, units] (the mask kept), output=final each row's "
            "state after its last valid step [B, units] (0 for an empty row). aux_loss=alpha adds "
            "alpha * L_aux to the training loss: h_t must tell the next item e_(t+1) from an in-batch "
            "negative (the same step of the previous row), -mean over valid pairs of "
            "log sigmoid(s(h_t, e_(t+1))) + log(1 - sigmoid(s(h_t, n_(t+1)))), s = DeepCTR's "
            "auxiliary MLP on [h, e] or the paper's dot product.",
    inputs=(Input("x", "sequence", mask="consume"),),
    params=(
        _UNITS,
        Param("output", "enum", "sequence", choices=("sequence", "final"),
              doc="every state [B, L, units], or the state after the last valid step [B, units]"),
        _RESET_AFTER,
        Param("aux_loss", "float", 0.0, low=0,
              doc="weight alpha of DIEN's auxiliary loss added to the training loss; 0: none"),
        Param("aux_net", "enum", "mlp", choices=("mlp", "dot"),
              doc="the auxiliary score of (h_t, e): an MLP on [h_t, e] (DeepCTR) or h_t . e (the paper; "
                  "needs units = d)"),
        Param("aux_units", "int_list", [100, 50], low=1,
              doc="hidden sizes of the auxiliary MLP (sigmoid), then Dense(1); DeepCTR's 100-50"),
    ),
    infer=_gru_infer, count=_gru_count,
    layer="recdsl.layers.gru:MaskedGRU", key_args=("units", "output", "aux_loss"),
    structure_args=("output", "aux_loss"),
    example="block interests = gru(hist_items, aux_loss=1.0)",
))


def _evolution_infer(ctx):
    keys = _ordered(ctx, "keys", "augru")
    q = ctx.inp("query")
    if q.width != keys.dim:
        members = " + ".join(f"{n}:{t.width}" for n, t in ctx.members.get("query", [])) or "query"
        raise TypeProblem(f"augru's attention compares the query with each state: the query is {q.width} wide "
                          f"({members}) but the states are {keys.dim} wide",
                          "give the query the states' width (e.g. the GRU's units= equal to the query's "
                          "total embedding dim)", at="query")
    if ctx.arg("alpha_init") and ctx.arg("att_activation") not in LEARNED_ACTIVATIONS:
        raise TypeProblem(f"alpha_init={ctx.arg('alpha_init')} sets the initial slope of prelu or dice, but "
                          f"att_activation is {ctx.arg('att_activation')}", "drop alpha_init=", at="alpha_init")
    return FieldType(ctx.arg("units") or keys.dim)


def _evolution_count(ctx, out) -> int:
    d, att = ctx.inp("keys").dim, list(ctx.arg("att_units"))
    gates = 2 if ctx.arg("variant") == "agru" else 3
    return (dense_params([4 * d, *att, 1]) + activation_params(ctx.arg("att_activation"), att)
            + gru_weights(d, ctx.arg("units") or d, gates, ctx.arg("reset_after")))


register(OpSpec(
    name="augru", family="pool", label="interest evolution",
    summary="DIEN's interest evolution (Zhou et al., 2019): the target query attends over the interest "
            "states h [B, L, d] (DIN's unit on [q, h, q-h, q*h], softmax over the valid steps, as "
            "DeepCTR's DIEN), and a second GRU runs over h steered by the attention a_t: "
            "augru u'_t = a_t u_t; agru h_t = (1 - a_t) h_(t-1) + a_t h~_t; aigru a GRU over a_t h_t. "
            "The final state of each row is the user's interest [B, units].",
    inputs=(Input("query", "query", doc="the target item's field(s), as wide as a state"),
            Input("keys", "sequence", mask="consume", doc="the interest states (a gru block's output)")),
    params=(
        _UNITS,
        Param("variant", "enum", "augru", choices=("augru", "agru", "aigru"),
              doc="how attention steers the GRU: scales the update gate, replaces it, or scales the inputs"),
        Param("att_units", "int_list", [64, 16], low=1, doc="hidden sizes of the attention MLP (DeepCTR's 64-16)"),
        Param("att_activation", "enum", "dice", choices=("dice", "prelu", "sigmoid", "relu"),
              doc="activation of the attention MLP (DeepCTR's DIEN: dice)"),
        _RESET_AFTER,
        ALPHA_INIT,
    ),
    infer=_evolution_infer, count=_evolution_count,
    layer="recdsl.layers.interest_evolution:InterestEvolution",
    key_args=("variant", "units", "att_units"), structure_args=("variant",),
    attention=Attention(normalize=lambda args: "softmax"),
    example="pool interest = augru(query=item_id, keys=interests)",
))
