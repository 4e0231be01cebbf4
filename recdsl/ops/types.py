"""The value types the checker infers for every node. B is the batch axis.

    FieldType(d)        [B, d]      one embedding field (a categorical feature, a pooled bag)
    DenseType(n)        [B, n]      raw numeric values
    VectorType(n)       [B, n]      a hidden vector (mlp, cross, concat output)
    BagType(L, d)       [B, L, d]   a multi-valued feature, with a mask
    SeqType(L, d)       [B, L, d]   a behaviour sequence, with a mask
    StackType(F, d)     [B, F, d]   fields of one dim stacked (senet, bilinear output)
    FieldListType(...)  a group or list of named fields; stacks to [B, F, d] when dims agree,
                        concatenates to [B, sum d] where a vector is needed
"""
from __future__ import annotations

import functools
from dataclasses import dataclass


class _Flat:
    """[B, n]: `width` is n, named by each type's own field (dim or size)."""

    @property
    def shape(self) -> tuple:
        return ("B", self.width)


class _Stacked:
    """[B, n, d]: `n` positions (a sequence's length, a stack's field count) of width d."""

    @property
    def shape(self) -> tuple:
        return ("B", self._positions, self.dim)

    @property
    def width(self) -> int:
        return self._positions * self.dim


@dataclass(frozen=True)
class FieldType(_Flat):
    dim: int
    describe = "an embedding field"

    @property
    def width(self) -> int:
        return self.dim


@dataclass(frozen=True)
class DenseType(_Flat):
    size: int
    describe = "a numeric value"

    @property
    def width(self) -> int:
        return self.size


@dataclass(frozen=True)
class VectorType(_Flat):
    size: int
    describe = "a vector"

    @property
    def width(self) -> int:
        return self.size


@dataclass(frozen=True)
class BagType(_Stacked):
    length: int
    dim: int
    describe = "a multi-valued bag"

    @property
    def _positions(self) -> int:
        return self.length


@dataclass(frozen=True)
class SeqType(_Stacked):
    length: int
    dim: int
    describe = "a sequence"

    @property
    def _positions(self) -> int:
        return self.length


@dataclass(frozen=True)
class StackType(_Stacked):
    count: int
    dim: int
    describe = "a stack of fields"

    @property
    def _positions(self) -> int:
        return self.count


@dataclass(frozen=True)
class FieldListType:
    """Named members in order; each member's own type is kept for error messages."""

    items: tuple[tuple[str, object], ...]

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(t.width for _, t in self.items)

    @functools.cached_property
    def width(self) -> int:
        return sum(self.dims)

    @functools.cached_property
    def leaves(self) -> tuple[tuple[str, object], ...]:
        """The members with nested groups expanded, as ops that stack fields see them (kept: a
        group used many times inside others is expanded once)."""
        out: list[tuple[str, object]] = []
        for name, t in self.items:
            out.extend(t.leaves if isinstance(t, FieldListType) else ((name, t),))
        return tuple(out)

    @property
    def shape(self) -> tuple:
        leaves = self.leaves
        dims = {t.width for _, t in leaves}
        if len(dims) == 1 and all(isinstance(t, FieldType) for _, t in leaves):
            return ("B", len(leaves), dims.pop())
        return ("B", self.width)

    describe = "a list of fields"


ValueType = FieldType | DenseType | VectorType | BagType | SeqType | StackType | FieldListType


def shape_label(shape) -> str:
    """A shape as text: `[B, 50, 16]`."""
    return "[" + ", ".join(str(s) for s in shape) + "]"


def shape_text(value_type) -> str:
    """A value type's shape as text: `[B, 50, 16]`."""
    return shape_label(value_type.shape)


def to_json(value_type) -> dict:
    """A JSON-able description: {"type": "seq", "shape": ["B", 50, 16]}."""
    # a refinement of a type (recdsl.ops.outputs.ProbabilityType) describes itself as that type
    name = getattr(value_type, "json_kind", None) or type(value_type).__name__.removesuffix("Type").lower()
    out = {"type": name, "shape": list(value_type.shape)}
    if isinstance(value_type, FieldListType):
        out["members"] = [m for m, _ in value_type.items]
    return out
