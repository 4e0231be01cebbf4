"""Output heads: a vector -> one logit -> a prediction, with its loss weight and label column."""
from __future__ import annotations

from recdsl.ops.params import Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import VectorType

for _name, _what, _loss, _head in (
    ("sigmoid", "probability of a positive label (CTR, CVR)", "binary cross-entropy", "binary"),
    ("linear", "real value (regression: watch time, rating)", "mean squared error", "mse"),
):
    register(OpSpec(
        name=_name, family="output", label=f"{_name} head",
        summary=f"Dense(1) over the input gives a {_what}; trained with {_loss}.",
        inputs=(Input("x", "vector"),),
        params=(
            Param("weight", "float", 1.0, low=0.0, doc="loss weight in multi-task training", to_layer=False),
            Param("label", "str", None, min_length=1, doc="label column, default the output's name",
                  to_layer=False),
        ),
        infer=lambda ctx: VectorType(1),
        count=lambda ctx, out: ctx.inp("x").size + 1,
        layer="recdsl.layers.head:PredictionHead", layer_args=(("kind", _name),), key_args=("weight", "label"),
        example=f"output ctr = {_name}(concat(cross, deep))", head=_head,
    ))
