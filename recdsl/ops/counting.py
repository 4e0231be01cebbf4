"""Parameter-count rules shared by several ops, and the activation names ops accept."""
from __future__ import annotations

from recdsl.ops.context import TypeProblem


def dense_params(sizes: list[int], bias: bool = True) -> int:
    """Parameters of a stack of Dense layers sizes[0] -> sizes[1] -> ..."""
    return sum(a * b + (b if bias else 0) for a, b in zip(sizes, sizes[1:]))


def activation_params(activation: str, units: list[int]) -> int:
    """Dice and PReLU learn one slope per unit."""
    return sum(units) if activation in LEARNED_ACTIVATIONS else 0


#: Activations with weights (DIN's Dice and PReLU) and Keras' built-in ones, by their spec names.
LEARNED_ACTIVATIONS = ("dice", "prelu")
BUILTIN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "swish", "linear")
ACTIVATIONS = BUILTIN_ACTIVATIONS[:1] + LEARNED_ACTIVATIONS + BUILTIN_ACTIVATIONS[1:]  # the order messages list them in


def learned_slope_start(ctx) -> None:
    """`alpha_init` sets the start of a learned activation's slopes: refused for one without them."""
    if ctx.arg("alpha_init") and ctx.arg("activation") not in LEARNED_ACTIVATIONS:
        raise TypeProblem(f"alpha_init={ctx.arg('alpha_init')} sets the initial slope of prelu or dice, but the "
                          f"activation is {ctx.arg('activation')}", "drop alpha_init=, or write activation=prelu",
                          at="alpha_init")


def field_pairs(f: int) -> int:
    """How many unordered pairs i < j of `f` fields: F(F-1)/2."""
    return f * (f - 1) // 2


def paired_fields(ctx, hint: str = "pass a list of two or more fields") -> int:
    """The field count of an op over field pairs, which must allow a pair (F >= 2)."""
    f = ctx.inp("fields").count
    if f < 2:
        raise TypeProblem(f"{ctx.op.name} needs at least two fields (one field has no pairs)", hint, at="fields")
    return f
