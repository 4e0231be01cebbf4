"""Where a CSV file goes wrong, when pyarrow refuses it without saying (its parse and UTF-8
errors name no line, row or column).

Called only after pyarrow has failed: the file is read again line by line with Python's csv
module, as pyarrow reads it (one line a row, no line breaks inside quotes, empty lines
skipped), and the first line that has NUL bytes, invalid UTF-8 in a column that is read, or
another number of fields than the header becomes a DataError with the file, row and line.
"""
from __future__ import annotations

import csv
import gzip
import itertools
from pathlib import Path

from recdsl.data.errors import DataError

NUL_HINT = ("a text CSV has no NUL bytes: is the file binary, UTF-16 encoded (save it as UTF-8) or cut short "
            "(a copy that was not finished leaves zeros)?")


def open_lines(path: Path):
    """The file's lines as bytes (a .gz file unpacked)."""
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def nul_header(path: Path) -> DataError:
    return DataError("the header line holds NUL bytes (\\x00)", file=str(path), hint=NUL_HINT)


def locate(path: Path, delimiter: str, needed: list[str] | None = None) -> DataError | None:
    """The first line that explains a pyarrow failure on this CSV file, or None (UTF-8 is
    checked in the `needed` columns only: pyarrow converts no others; None: every column)."""
    with open_lines(path) as f:
        lines = (raw.rstrip(b"\r\n") for raw in f)
        header_raw = next(lines, None)
        if header_raw is None:
            return DataError("the file is empty (not even a header line)", file=str(path),
                             hint="a CSV file starts with a header line naming its columns")
        if b"\x00" in header_raw:
            return nul_header(path)
        header = _fields(header_raw, delimiter)
        wanted = {i for i, name in enumerate(header) if needed is None or name in needed}
        row = 0
        for line, raw in zip(itertools.count(2), lines):
            if not raw:
                continue
            row += 1
            if b"\x00" in raw:
                return DataError(f"line {line:,} holds NUL bytes (\\x00)", file=str(path), row=row, hint=NUL_HINT)
            fields = _fields(raw, delimiter)
            if len(fields) != len(header):
                return DataError(f"line {line:,} has {len(fields)} fields, but the header names {len(header)} columns",
                                 file=str(path), row=row,
                                 hint="a field holding the delimiter must be quoted (\"a,b\"), and every line "
                                      "needs one field per column (empty fields for missing values)")
            bad = next((i for i in sorted(wanted) if _invalid_utf8(fields[i])), None)
            if bad is not None:
                return DataError(f"invalid UTF-8 text on line {line:,}: {_raw(fields[bad])!r}", file=str(path),
                                 column=header[bad], row=row,
                                 hint="recdsl reads UTF-8 CSV files: convert the file (e.g. "
                                      "`iconv -f latin1 -t utf-8`) or clean the column")
    return None


def _fields(raw: bytes, delimiter: str) -> list[str]:
    text = raw.decode("utf-8", errors="surrogateescape")
    return next(csv.reader([text], delimiter=delimiter), [])


def _raw(field: str) -> bytes:
    return field.encode("utf-8", errors="surrogateescape")


def _invalid_utf8(field: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in field)
