"""Markdown text from values: table rows and cells, numbers, counts, durations, settings and
fenced source. A missing value (None) shows as an em dash."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

DASH = "\u2014"  # shown for a missing value


def cell(value: Any) -> str:
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if text.strip() else " "


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    align = align or ["l"] * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def num(value: Any, fmt: str = ".4f") -> str:
    if value is None:
        return DASH
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "nan"
    return format(number, fmt)


def count(value: Any) -> str:
    if value is None:
        return DASH
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def duration(seconds: Any) -> str:
    if seconds is None:
        return DASH
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    whole = int(round(s))
    if whole < 3600:
        return f"{s:.1f} s ({whole // 60} min {whole % 60:02d} s)"
    return f"{s:.1f} s ({whole // 3600} h {whole % 3600 // 60:02d} min)"


def setting(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, Path):
        return value.as_posix()
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def fence(source: str) -> str:
    longest = run = 0
    for ch in source:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{source.rstrip()}\n{ticks}"
