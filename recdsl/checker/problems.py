"""What the checker's parts report to each other: problems with spans, and the marker for a
node whose error is already reported."""
from __future__ import annotations

from dataclasses import dataclass

from recdsl.lang.span import Span


@dataclass
class Problem:
    span: Span
    message: str
    hint: str = ""


class ArgProblem(Exception):
    """Several problems with one call's arguments, reported together."""

    def __init__(self, items: list[Problem]):
        super().__init__(items[0].message)
        self.items = items


class Poisoned(Exception):
    """A node whose own error was already reported; its dependents stay quiet."""
