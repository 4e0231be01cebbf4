"""Positions between recdsl's spans and the Language Server Protocol's.

A recdsl Span is 1-based and counts columns in code points; lines break at \\n only
(recdsl.lang.span.source_lines). An LSP Position is 0-based and counts `character` in the
code units of the negotiated encoding: UTF-16 by default (an emoji or any character above
U+FFFF is 2 units, é is 1), UTF-8 (é is 2 bytes) or UTF-32 (code points).

    LineIndex(text, "utf-16").to_client(line, column)      1-based span point -> 0-based LSP
    LineIndex(text, "utf-16").from_client(line, character) 0-based LSP -> 1-based span point
"""
from __future__ import annotations

from bisect import bisect_right

from recdsl.lang.span import Span, source_lines

ENCODINGS = ("utf-8", "utf-16", "utf-32")


class LineIndex:
    """The lines of one document version, for converting points in both directions."""

    def __init__(self, text: str, encoding: str = "utf-16"):
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown position encoding {encoding!r}; one of {', '.join(ENCODINGS)}")
        self.text = text
        self.lines = source_lines(text)
        self.encoding = encoding
        self._starts = [0]
        for line in text.split("\n")[:-1]:
            self._starts.append(self._starts[-1] + len(line) + 1)

    def units(self, chars: str) -> int:
        """How many client code units `chars` takes."""
        if self.encoding == "utf-32":
            return len(chars)
        if self.encoding == "utf-8":
            return len(chars.encode("utf-8"))
        return len(chars.encode("utf-16-le", "surrogatepass")) // 2

    def to_client(self, line: int, column: int) -> tuple[int, int]:
        """A 1-based (line, column in code points) -> a 0-based (line, character in units),
        clamped into the document (a span may point one past a line's end)."""
        if line < 1 or not self.lines:
            return 0, 0
        if line > len(self.lines):
            return len(self.lines) - 1, self.units(self.lines[-1])
        text = self.lines[line - 1]
        return line - 1, self.units(text[:min(max(column - 1, 0), len(text))])

    def range_to_client(self, span: Span) -> tuple[tuple[int, int], tuple[int, int]]:
        """A span's (start, end) as 0-based client points. A point past a line's end (where a statement
        ends too early) becomes an empty range at the line's end."""
        start = self.to_client(span.line, span.column)
        end = self.to_client(span.end_line, span.end_column)
        return start, max(end, start)

    def from_client(self, line: int, character: int) -> tuple[int, int]:
        """A 0-based (line, character in units) -> a 1-based (line, column in code points). A
        character inside a surrogate pair or a UTF-8 sequence lands on the character it belongs to."""
        if not self.lines:
            return 1, 1
        line = min(max(line, 0), len(self.lines) - 1)
        text, count, column = self.lines[line], 0, 0
        while column < len(text) and count < character:
            count += self.units(text[column])
            column += 1
        if count > character:
            column -= 1
        return line + 1, column + 1

    def offset(self, line: int, column: int) -> int:
        """The index into the text of a 1-based (line, column in code points)."""
        if line < 1:
            return 0
        if line > len(self._starts):
            return len(self.text)
        line_start = self._starts[line - 1]
        return min(line_start + max(column - 1, 0), line_start + len(self.lines[line - 1]))

    def point(self, offset: int) -> tuple[int, int]:
        """The 1-based (line, column in code points) of an index into the text."""
        offset = min(max(offset, 0), len(self.text))
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def end(self) -> tuple[int, int]:
        """The 0-based client point just past the last character."""
        return len(self.lines) - 1, self.units(self.lines[-1])
