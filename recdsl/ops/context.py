"""What an op's type and parameter rules see, and the problem they raise."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

class TypeProblem(Exception):
    """Raised by an infer/count rule; `at` names the input or argument to underline."""

    def __init__(self, message: str, hint: str = "", at: str | None = None):
        super().__init__(message)
        self.message, self.hint, self.at = message, hint, at


@dataclass
class OpContext:
    """What an infer/count rule sees: coerced input types and resolved arguments."""

    op: Any  # the OpSpec
    inputs: dict[str, Any]
    args: dict[str, Any]
    members: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def inp(self, name: str):
        return self.inputs.get(name)

    def arg(self, name: str):
        return self.args.get(name)
