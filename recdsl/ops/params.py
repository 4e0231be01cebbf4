"""An op's arguments: their kinds, defaults, allowed values and bounds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REQUIRED = object()

#: Argument kinds. ref: a node name; table: a feature name or a nested id(...)/category(...); call: a nested op call.
ARG_KINDS = ("int", "float", "bool", "str", "enum", "int_list", "num_list", "str_list", "ref", "table", "call")

@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: Any = REQUIRED
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    calls: tuple[str, ...] = ()
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED
