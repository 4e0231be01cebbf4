"""What an op's type and parameter rules see, and the problem they raise."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class TypeProblem(Exception):
    """Raised by an infer/count rule; `at` names the input or argument to underline."""

    def __init__(self, message: str, hint: str = "", at: str | None = None):
        super().__init__(message)
        self.message, self.hint, self.at = message, hint, at


@dataclass(frozen=True)
class TableInfo:
    """The embedding table a `table` argument (of=) names: its field type, the parameters it adds
    to this node (0 when shared) and the node that owns it when shared (None for an inline table)."""

    type: Any
    params: int
    shares: str | None = None


@dataclass
class OpContext:
    """What an infer/count rule sees: coerced input types, resolved arguments and what the checker
    learned while resolving them."""

    op: Any  # the OpSpec
    inputs: dict[str, Any]
    args: dict[str, Any]
    members: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)  # slot -> [(name, type)]
    spec_dir: Path = Path(".")  # the folder relative file arguments are read from
    spans: dict[str, Any] = field(default_factory=dict)  # slot -> Span of its first argument
    refs: dict[str, str] = field(default_factory=dict)  # ref argument -> the node whose weights it names
    vocab_size: int | None = None  # distinct values of a vocabulary file argument
    table: TableInfo | None = None  # the table argument's table
    gate_by_width: int | None = None  # width of a nested gate's `by` input

    def inp(self, name: str):
        return self.inputs.get(name)

    def arg(self, name: str):
        return self.args.get(name)
