"""Source positions carried by every AST node and every error."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A 1-based, end-exclusive region of a source file."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int, width: int = 1) -> "Span":
        return cls(file, line, column, line, column + max(width, 1))

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


UNKNOWN = Span("<unknown>", 0, 0, 0, 0)


def source_lines(text: str) -> list[str]:
    """The lines of `text` as spans count them: broken at \\n only (a trailing \\r is dropped), so form
    feeds, \\v, \\x85 and U+2028 stay inside their line (str.splitlines would break there)."""
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
