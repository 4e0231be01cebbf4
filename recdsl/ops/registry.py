"""The op registry: what the checker, the diagram and the emitter know about each op.

An entry declares the op's tensor inputs (and which value types they accept), its
arguments (kind, default, allowed values), a rule for its output type, a rule for its
trainable-parameter count, its diagram label, and the dotted path of its Keras layer.
Nothing here imports Keras: the layer is loaded only by the emitter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from recdsl.ops.params import ARG_KINDS, Param

#: What an input slot accepts; the checker coerces the argument to this form.
ACCEPTS = {
    "vector": "anything that flattens to [B, n]: fields, groups, vectors, stacks",
    "fields": "embedding fields of one dim, stacked to [B, F, d]",
    "query": "an embedding field, a list of them (concatenated), or a vector: [B, d]",
    "sequence": "a sequence or multi-valued bag [B, L, d], or a list of them of one length",
    "fields_or_sequence": "fields of one dim [B, F, d] or a sequence [B, L, d]",
    "any": "any value",
}

@dataclass(frozen=True)
class Input:
    name: str
    accepts: str
    variadic: bool = False
    optional: bool = False
    doc: str = ""


@dataclass(frozen=True)
class OpSpec:
    name: str
    family: str  # feature | pool | gate | block | output
    summary: str
    label: str
    inputs: tuple[Input, ...]
    params: tuple[Param, ...]
    infer: Callable[["OpContext"], Any]
    count: Callable[["OpContext", Any], int]
    layer: str | None = None
    key_args: tuple[str, ...] = ()
    example: str = ""

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def input(self, name: str) -> Input | None:
        return next((i for i in self.inputs if i.name == name), None)

    @property
    def slots(self) -> tuple[str, ...]:
        """Names positional arguments fill, in order."""
        return tuple(i.name for i in self.inputs) + tuple(p.name for p in self.params)


REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"op {spec.name!r} registered twice")
    for p in spec.params:
        if p.kind not in ARG_KINDS:
            raise ValueError(f"{spec.name}.{p.name}: unknown argument kind {p.kind!r}")
    for i in spec.inputs:
        if i.accepts not in ACCEPTS:
            raise ValueError(f"{spec.name}.{i.name}: unknown input form {i.accepts!r}")
    REGISTRY[spec.name] = spec
    return spec


def ops_of(family: str) -> list[str]:
    return sorted(name for name, spec in REGISTRY.items() if spec.family == family)


def load() -> dict[str, OpSpec]:
    """Import every family module once so the registry is complete."""
    from recdsl.ops import features, gating, interaction, outputs, pooling  # noqa: F401

    return REGISTRY
