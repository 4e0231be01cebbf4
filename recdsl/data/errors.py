"""Bad data: errors that name the file, column and row, and the log of what was fixed.

Rows are counted from 1 over the data rows of a file (a CSV's header line is not a row,
so CSV row N is on line N + 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from recdsl.errors import RecdslError


class DataError(RecdslError):
    """A problem in the user's data that stops the run."""

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None,
                 row: int | None = None, hint: str = ""):
        self.file, self.column, self.row, self.message, self.hint = file, column, row, message, hint
        Exception.__init__(self, self.render())

    @property
    def where(self) -> str:
        parts = [p for p in (self.file,
                             f"column {self.column!r}" if self.column is not None else None,
                             f"row {self.row:,}" if self.row is not None else None) if p]
        return ", ".join(parts)

    def render(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


@dataclass
class Fix:
    split: str
    column: str
    what: str
    rows: int = 0
    first: str = ""  # where it first happened: "file row N"


@dataclass
class FixLog:
    """Counts of rows a documented rule changed or dropped, by split, column and rule."""

    split: str = "train"
    entries: dict = field(default_factory=dict)

    def add(self, column: str, what: str, rows: int, file: str = "", first_row: int | None = None) -> None:
        if rows <= 0:
            return
        key = (self.split, column, what)
        fix = self.entries.get(key)
        if fix is None:
            where = f"{file} row {first_row:,}" if first_row is not None else file
            fix = self.entries[key] = Fix(self.split, column, what, 0, where)
        fix.rows += int(rows)

    def rows(self) -> list[dict]:
        return [{"split": f.split, "column": f.column, "what": f.what, "rows": f.rows, "first": f.first}
                for f in self.entries.values()]
