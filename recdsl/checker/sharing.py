"""`share=`: which weights a node reuses from another, decided by the shapes of those weights.

    same op, same arguments       the whole layer is reused (every weight, learned activations
                                  included); the weights must have the same shapes: for ops with
                                  a weights rule (OpSpec.weights) each role's, else the width of
                                  each input. A target field [B, 1, d] through the attention of a
                                  history [B, L, d] qualifies: the weights depend on d, not L.
    attention ops otherwise       (attention, traditional_attention, self_attention,
                                  cross_attention: ops with a weights rule) the weights of the
                                  roles both have (recdsl.ops.attention_weights) are shared, and
                                  each must have the same shape; the others stay the node's own.
The node's parameter count leaves the shared weights out (they are counted at their owner).
"""
from __future__ import annotations

import math
from dataclasses import replace

from recdsl.checker.spec import Node
from recdsl.ops.attention_weights import shape_list
from recdsl.ops.context import OpContext, TypeProblem

HINT = ("a node of the same op and arguments shares all its weights; attention ops share the weights "
        "of the roles they have in common (key, key_bias, query, ...), which need the same shapes")


def weight_shapes(registry, node: Node) -> dict | None:
    """{role: shape} of a node's weights, or None when its op has no weights rule."""
    op = registry[node.op]
    if op.weights is None:
        return None
    return op.weights(OpContext(op, dict(node.input_types), dict(node.args)))


def shared(registry, node: Node, target: Node, via: str) -> Node:
    """`node` (which names `target` through its argument `via`) with what it borrows; raises TypeProblem."""
    mine = {k: v for k, v in node.args if k != via}
    theirs = {k: v for k, v in target.args if k != via}
    my_weights, their_weights = weight_shapes(registry, node), weight_shapes(registry, target)
    if node.op == target.op and mine == theirs:
        if my_weights is not None:
            _same_shapes(node, target, my_weights, their_weights, list(my_weights))
        else:
            _same_widths(node, target)
        return replace(node, params=0)
    if my_weights is None or their_weights is None:
        diff = [k for k in mine if mine[k] != theirs.get(k)]
        raise TypeProblem(f"`{node.name}` cannot share the weights of `{target.name}`: argument `{diff[0]}` "
                          f"differs ({mine[diff[0]]!r} vs {theirs.get(diff[0])!r})", HINT)
    common = [role for role in my_weights if role in their_weights]
    if not common:
        raise TypeProblem(f"`{node.name}` cannot share the weights of `{target.name}`: they have no weights "
                          f"in common (`{node.name}`: {shape_list(my_weights, my_weights) or 'none'}; "
                          f"`{target.name}`: {shape_list(their_weights, their_weights) or 'none'})", HINT)
    _same_shapes(node, target, my_weights, their_weights, common)
    borrowed = sum(math.prod(my_weights[r]) for r in common)
    return replace(node, borrows=tuple(common), params=node.params - borrowed)


def _same_shapes(node, target, mine: dict, theirs: dict, roles) -> None:
    roles = list(roles) + [r for r in theirs if r not in mine and node.op == target.op]
    differ = [r for r in roles if mine.get(r) != theirs.get(r)]
    if differ:
        what = "; ".join(f"{r} {_shape(mine.get(r))} vs {_shape(theirs.get(r))}" for r in differ)
        raise TypeProblem(f"`{node.name}` cannot share the weights of `{target.name}`: their shapes differ "
                          f"({what})", HINT)


def _shape(shape) -> str:
    return "(none)" if shape is None else "[" + ", ".join(str(n) for n in shape) + "]"


def _same_widths(node: Node, target: Node) -> None:
    theirs = dict(target.input_types)
    for slot, mine in node.input_types:
        a, b = _width(mine), _width(theirs.get(slot))
        if a != b:
            raise TypeProblem(f"`{node.name}` cannot share the weights of `{target.name}`: input `{slot}` is "
                              f"{a} wide, but {b} wide at `{target.name}`", HINT)


def _width(t) -> object:
    if isinstance(t, tuple):
        return tuple(_width(x) for x in t)
    for attr in ("dim", "width", "size"):
        if hasattr(t, attr):
            return getattr(t, attr)
    return None
