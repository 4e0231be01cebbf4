"""Sequence ops: what is done to a behaviour sequence before attention (positions, appending the target)."""
from __future__ import annotations

from recdsl.ops.context import TypeProblem
from recdsl.ops.params import Param
from recdsl.ops.registry import Input, OpSpec, register
from recdsl.ops.types import BagType, SeqType, shape_text


def _positions_infer(ctx):
    x, mode, dim = ctx.inp("x"), ctx.arg("mode"), ctx.arg("dim")
    if isinstance(x, BagType):
        raise TypeProblem(f"positions needs an ordered sequence, but {x.describe} {shape_text(x)} has no order",
                          "pass a sequence(...) feature or a sequence block", at="x")
    if mode == "concat" and dim is None:
        raise TypeProblem("positions(mode=concat) needs dim=, the width of the position encoding",
                          f"e.g. dim=8, giving [B, {x.length}, {x.dim} + 8]", at="mode")
    if mode == "add" and dim not in (None, x.dim):
        raise TypeProblem(f"positions(mode=add) keeps the sequence width {x.dim}, but dim={dim}",
                          f"drop dim= (add uses {x.dim}), or write mode=concat", at="dim")
    return SeqType(x.length, x.dim + (dim if mode == "concat" else 0))


def _positions_count(ctx, out) -> int:
    if ctx.arg("kind") != "learned":
        return 0
    x = ctx.inp("x")
    return x.length * (ctx.arg("dim") if ctx.arg("mode") == "concat" else x.dim)


register(OpSpec(
    name="positions", family="block", label="positions",
    summary="Position encodings for a sequence before attention (a transformer ignores order without "
            "them): each valid position l of a row with n valid items gets P(pos), pos = n-1-l "
            "(order=recent_first: 0 is the newest item, BST's recency; a row's positions never depend "
            "on its padding) or pos = l (oldest_first); P is a learned table [L, p] or the sinusoid "
            "PE(pos, 2i) = sin(pos / 10000^(2i/p)), PE(pos, 2i+1) = cos(...) (Vaswani et al., 2017), "
            "added (p = d) or concatenated (p = dim); kind=none adds nothing (an ablation). "
            "Padded positions stay 0 and masked. [B, L, d] -> [B, L, d] or [B, L, d + dim].",
    inputs=(Input("x", "sequence", mask="consume"),),
    params=(
        Param("kind", "enum", "learned", choices=("learned", "sinusoidal", "none"),
              doc="a trained table of L rows, the fixed sinusoid, or no encoding"),
        Param("mode", "enum", "add", choices=("add", "concat"),
              doc="add to the item embedding, or concatenate dim more columns"),
        Param("order", "enum", "recent_first", choices=("recent_first", "oldest_first"),
              doc="position 0 is the newest valid item (recency), or the oldest"),
        Param("dim", "int", None, low=1, doc="width of the encoding for mode=concat (add uses the sequence's)"),
    ),
    infer=_positions_infer, count=_positions_count,
    layer="recdsl.layers.positions:PositionEncoding", key_args=("kind", "mode", "order"),
    structure_args=("kind", "mode"),
    example="block ordered = positions(hist_items, kind=sinusoidal)",
))


def _append_infer(ctx):
    x, item = ctx.inp("x"), ctx.inp("item")
    if item.width != x.dim:
        raise TypeProblem(f"append needs an item as wide as the sequence's positions: the item is "
                          f"{item.width} wide, the sequence {x.dim}",
                          "give the item the sequence's fields in the same order, e.g. "
                          "append([hist_items, hist_cates], [item_id, item_cate])", at="item")
    return type(x)(x.length + 1, x.dim)


register(OpSpec(
    name="append", family="block", label="append",
    summary="Append one item per row to a sequence as its newest valid position: right after the "
            "row's last valid position (not after the padding), the mask extended to it. A list of "
            "fields is concatenated to one position, in the order of the sequence's members. "
            "BST's target item appended to the behaviour sequence (Chen et al., 2019). "
            "[B, L, d] and [B, d] -> [B, L + 1, d].",
    inputs=(Input("x", "sequence", mask="consume"),
            Input("item", "query", doc="the field(s) to append, as wide as a position")),
    params=(),
    infer=_append_infer, count=lambda ctx, out: 0,
    layer="recdsl.layers.sequence_append:SequenceAppend",
    mask_layer="recdsl.layers.sequence_append:SequenceAppendMask",
    example="block behaviour = append([hist_items, hist_cates], [item_id, item_cate])",
))
