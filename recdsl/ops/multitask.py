"""Multi-task ops: task gates over expert blocks (MMoE, CGC, PLE).

Experts are ordinary blocks of one output width (`block e1 = mlp(x, units=[64])`), so the
diagram draws each of them and the edges from them into each task's gate; a task gate is a
`gate` statement whose op is `mixture`. MMoE gives every task's gate the same experts; CGC
gives each task's gate its own experts plus the shared ones; PLE stacks CGC levels, the shared
experts of the next level fed by a gate over all experts of the level below.
"""
from __future__ import annotations

from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import VectorType


def _mixture_type(ctx):
    return VectorType(ctx.inp("experts").dim)


register(OpSpec(
    name="mixture", family="gate", label="task gate (mixture of experts)",
    summary="A task's gate over K experts of one width: g = softmax(W by + b) over the experts, output "
            "sum_k g_k e_k [B, n]. One gate per task over the same experts is MMoE (Ma et al., 2018); over "
            "the task's own experts plus shared ones it is CGC, and stacked levels of CGC are PLE (Tang et al., "
            "2020). Experts of different widths are an error naming them.",
    inputs=(Input("experts", "experts", doc="the expert blocks, a list of vectors of one width"),
            Input("by", "vector", doc="what the gate reads (the shared input, or the level below)")),
    params=(),
    infer=_mixture_type,
    count=lambda ctx, out: (ctx.inp("by").size + 1) * ctx.inp("experts").count,
    layer="recdsl.layers.mixture:ExpertMixture",
    example="gate ctr_in = mixture([e1, e2, e3], by=x)",
))
