"""Vocabulary files: one value per line. The checker counts a table's rows and the data side
builds its lookup from the same read, so the two cannot disagree."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from recdsl.errors import RecdslError

FORMAT = "one value per line"
#: The largest vocabulary file read, in bytes and in lines: a bigger (or endless) file is refused
#: before it fills memory. A vocabulary that large belongs in `id(buckets=...)` or `max_tokens=`.
MAX_BYTES = 64 * 2**20
MAX_LINES = 4_000_000


class VocabFileError(RecdslError):
    """A vocabulary file that cannot be used; the subclass says why, `path` is the file."""

    def __init__(self, path: Path, message: str, hint: str):
        self.path = path
        super().__init__(f"vocabulary file {str(path)!r} {message}", hint)


class VocabFileNotFound(VocabFileError):
    def __init__(self, path: Path):
        super().__init__(path, "not found", "vocab_file paths are relative to the .rec file")


class VocabFileUnreadable(VocabFileError):
    def __init__(self, path: Path, reason: str):
        self.reason = reason
        super().__init__(path, f"cannot be read: {reason}", f"name a readable text file, {FORMAT}")


class VocabFileNotUtf8(VocabFileError):
    def __init__(self, path: Path, byte: int, offset: int, line: int):
        self.byte, self.offset, self.line = byte, offset, line
        super().__init__(path, f"is not UTF-8 text (byte 0x{byte:02x} at offset {offset}, line {line})",
                         f"save the file as UTF-8, {FORMAT}")


class VocabFileNotRegular(VocabFileUnreadable):
    """A folder, device, FIFO or socket: nothing a vocabulary can be read from whole."""

    def __init__(self, path: Path, what: str):
        super().__init__(path, f"it is {what}, not a regular file")


class VocabFileTooLarge(VocabFileError):
    def __init__(self, path: Path, what: str):
        self.what = what
        super().__init__(path, f"is too large: {what}",
                         "hash a vocabulary that large with id(buckets=...), or learn it from data with max_tokens=")


class VocabFileEmpty(VocabFileError):
    def __init__(self, path: Path):
        super().__init__(path, "is empty", f"write {FORMAT}")


def read_vocab_file(path: str | Path) -> list[str]:
    """The file's values in file order; blank lines, surrounding whitespace and repeats ignored;
    UTF-8 with an optional BOM. Raises a VocabFileError subclass when the file is missing,
    unreadable, not a regular file, over MAX_BYTES or MAX_LINES, not UTF-8 or holds no value."""
    path = Path(path)
    try:
        data = _read_bounded(path)
    except FileNotFoundError:
        raise VocabFileNotFound(path) from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise VocabFileUnreadable(path, reason) from None
    if data.count(b"\n") > MAX_LINES:
        raise VocabFileTooLarge(path, f"more than {MAX_LINES:,} lines")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VocabFileNotUtf8(path, data[exc.start], exc.start, data.count(b"\n", 0, exc.start) + 1) from None
    values = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not values:
        raise VocabFileEmpty(path)
    return values


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def _read_bounded(path: Path) -> bytes:
    """At most MAX_BYTES of a regular file. Opened without blocking, so a FIFO is refused, not waited on."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise VocabFileNotRegular(path, next((what for test, what in _KINDS if test(mode)), "a special file"))
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise VocabFileTooLarge(path, f"over {MAX_BYTES // 2**20} MiB")
    return data
