"""The checker's output: every node resolved, typed and counted. Plain frozen data."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from recdsl.lang.errors import SpecError
from recdsl.lang.span import Span


@dataclass(frozen=True)
class Binding:
    """One input slot of a node: the names feeding it, in order (groups not expanded)."""

    role: str
    members: tuple[str, ...]
    is_list: bool = False


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # feature | group | pool | gate | block | output
    op: str  # the op name; "group" for groups
    args: tuple[tuple[str, Any], ...]  # every argument with defaults filled in, JSON-able values
    inputs: tuple[Binding, ...]
    type: Any
    params: int
    span: Span
    shares: str | None = None  # the node whose table ("table") or weights ("weights") this one reuses
    share_kind: str | None = None
    anonymous: bool = False
    input_types: tuple[tuple[str, Any], ...] = ()  # (role, coerced type) as the op sees it
    # share_kind "weights": the roles of the weights it takes from `shares` (recdsl.checker.sharing);
    # empty when it reuses the whole layer of a node of the same op and arguments
    borrows: tuple[str, ...] = ()

    def arg(self, name: str, default: Any = None) -> Any:
        return dict(self.args).get(name, default)

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(m for b in self.inputs for m in b.members)


@dataclass(frozen=True)
class CheckedSpec:
    name: str
    doc: str
    file: str
    nodes: tuple[Node, ...]  # dependencies first, otherwise source order
    warnings: tuple[SpecError, ...] = ()
    sources: dict = field(default_factory=dict, compare=False, repr=False)

    def node(self, name: str) -> Node:
        return self._index[name]

    @cached_property
    def _index(self) -> dict[str, Node]:  # built once: node() is called per node by graph and emitter
        return {n.name: n for n in self.nodes}

    @property
    def outputs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == "output")

    @property
    def total_params(self) -> int:
        return sum(n.params for n in self.nodes)
