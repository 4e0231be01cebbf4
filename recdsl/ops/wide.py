"""The wide (linear) part over any mix of categorical features, bags, sequences and numerics.

`block linear = wide(user_id, gender, genres, age)` is b + sum_i w_i[id_i]: it reads the features'
model inputs (the "features" input form, recdsl.ops.feature_inputs), not their embeddings, so a
feature used nowhere else gets no embedding table at all (recdsl.checker.unembedded).
"""
from __future__ import annotations

from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import VectorType


def wide_params(features) -> int:
    """1 (the bias) + rows - 1 per distinct table (row 0, padding, is a constant 0) + n per dense numeric."""
    tables = {f.table: f.rows for f in features if f.form != "dense"}
    return 1 + sum(rows - 1 for rows in tables.values()) + sum(f.size for f in features if f.form == "dense")


def _features(ctx):
    return [f for given in ctx.inp("features") for f in given.items]


register(OpSpec(
    name="wide", family="block", label="wide (linear)",
    summary="The linear part of Wide & Deep and DeepFM: b + sum_i w_i[id_i] over the features' own ids "
            "(one weight per row of each feature's table, the padding row fixed at 0), summed over the valid "
            "rows of a bag or sequence, plus w . x for a dense numeric (a weight per bucket for a bucketised "
            "one). Features sharing a table (of=) share its weights. [B, 1].",
    inputs=(Input("features", "features", variadic=True,
                  doc="features (or groups of them): categorical, bags, sequences, numerics"),),
    params=(),
    infer=lambda ctx: VectorType(1),
    count=lambda ctx, out: wide_params(_features(ctx)),
    layer="recdsl.layers.linear:FeatureLinear",
    example="block linear = wide(user_id, gender, genres, age)",
))
