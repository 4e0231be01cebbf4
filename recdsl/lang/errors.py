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

    def render(self, source: str | None = None, lines: list[str] | None = None) -> str:
        """`file:line:col: error: message`, the source line, a caret under the span, the hint.
        `lines`: source_lines(source), when the caller renders many errors of one source. A line
        longer than SHOWN_WIDTH is shown as a window around the span."""
        out = [f"{self.span}: {self.severity}: {self.message}"]
        line_text = _source_line(source, self.span.line, lines)
        if line_text is not None:
            gutter = f"{self.span.line} | "
            start = max(self.span.column - 1, 0)
            if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                width = self.span.end_column - self.span.column
            else:
                width = max(len(line_text.rstrip()) - start, 1)
            line_text, start, width = _window(line_text, start, width)
            out.append(f"{gutter}{_printable(line_text)}")
            out.append(" " * len(gutter) + " " * start + "^" * max(width, 1))
        if self.hint:
            out.append(f"  = hint: {self.hint}")
        return "\n".join(out)


#: The widest source line printed whole; a longer one is cut to this many characters around the span.
SHOWN_WIDTH = 200
_BEFORE = 60  # characters shown before the span in a cut line


def _window(text: str, start: int, width: int) -> tuple[str, int, int]:
    """(the text shown, the caret's start in it, the caret's width) for a line that may be cut."""
    if len(text) <= SHOWN_WIDTH:
        return text, start, width
    begin = max(min(start - _BEFORE, len(text) - SHOWN_WIDTH), 0)
    end = begin + SHOWN_WIDTH
    shown = ("…" if begin else "") + text[begin:end] + ("…" if end < len(text) else "")
    caret = start - begin + (1 if begin else 0)
    return shown, caret, max(min(width, end - start), 1)


# Characters that would break or rewind the printed line; shown as one space so the caret stays aligned.
_ODD_BREAKS = str.maketrans({c: " " for c in "\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


def _printable(text: str) -> str:
    """Tabs and odd line breaks as one space each: the same length, so columns still line up."""
    return text.expandtabs(1).translate(_ODD_BREAKS)


def _source_line(source: str | None, line: int, lines: list[str] | None = None) -> str | None:
    """Line `line` of `source`, counted like spans (at \\n only; see source_lines)."""
    if source is None or line < 1:
        return None
    lines = source_lines(source) if lines is None else lines
    if line > len(lines):
        return "" if line == len(lines) + 1 else None
    return lines[line - 1]


class SpecErrors(RecdslError):
    """Raised by the front end when a spec has one or more errors; carries all of them."""

    def __init__(self, errors: list[SpecError], sources: dict[str, str] | None = None):
        self.errors = sorted(errors, key=lambda e: (e.span.file, e.span.line, e.span.column))
        self.sources = dict(sources or {})
        self.message, self.hint = "", ""
        Exception.__init__(self)

    def __str__(self) -> str:  # rendered when asked for, not when raised: a spec may have thousands of errors
        return self.render()

    def render(self) -> str:
        lines = {file: source_lines(text) for file, text in self.sources.items()}
        return "\n\n".join(e.render(self.sources.get(e.span.file), lines.get(e.span.file)) for e in self.errors)
