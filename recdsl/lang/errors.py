"""Spec problems as values: a span, a message and a hint, printed rustc-style."""
from __future__ import annotations

from dataclasses import dataclass

from recdsl.errors import RecdslError
from recdsl.lang.span import Span, source_lines


@dataclass(frozen=True)
class SpecError:
    """One problem in a spec. `severity` is "error" or "warning"."""

    span: Span
    message: str
    hint: str = ""
    severity: str = "error"

    def render(self, source: str | None = None) -> str:
        """`file:line:col: error: message`, the source line, a caret under the span, the hint."""
        out = [f"{self.span}: {self.severity}: {self.message}"]
        line_text = _source_line(source, self.span.line)
        if line_text is not None:
            gutter = f"{self.span.line} | "
            out.append(f"{gutter}{line_text}")
            start = max(self.span.column - 1, 0)
            if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                width = self.span.end_column - self.span.column
            else:
                width = max(len(line_text.rstrip()) - start, 1)
            out.append(" " * len(gutter) + " " * start + "^" * max(width, 1))
        if self.hint:
            out.append(f"  = hint: {self.hint}")
        return "\n".join(out)


# Characters that would break or rewind the printed line; shown as one space so the caret stays aligned.
_ODD_BREAKS = str.maketrans({c: " " for c in "\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


def _source_line(source: str | None, line: int) -> str | None:
    """Line `line` of `source`, counted like spans (at \\n only; see source_lines)."""
    if source is None or line < 1:
        return None
    lines = source_lines(source)
    if line > len(lines):
        return "" if line == len(lines) + 1 else None
    return lines[line - 1].expandtabs(1).translate(_ODD_BREAKS)


class SpecErrors(RecdslError):
    """Raised by the front end when a spec has one or more errors; carries all of them."""

    def __init__(self, errors: list[SpecError], sources: dict[str, str] | None = None):
        self.errors = sorted(errors, key=lambda e: (e.span.file, e.span.line, e.span.column))
        self.sources = dict(sources or {})
        self.message, self.hint = "", ""
        Exception.__init__(self, self.render())

    def render(self) -> str:
        return "\n\n".join(e.render(self.sources.get(e.span.file)) for e in self.errors)
