"""Vocabulary files: one value per line. The checker counts a table's rows and the data side
builds its lookup from the same read, so the two cannot disagree."""
from __future__ import annotations

from pathlib import Path

from recdsl.errors import RecdslError

FORMAT = "one value per line"


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


class VocabFileEmpty(VocabFileError):
    def __init__(self, path: Path):
        super().__init__(path, "is empty", f"write {FORMAT}")


def read_vocab_file(path: str | Path) -> list[str]:
    """The file's values in file order; blank lines, surrounding whitespace and repeats ignored;
    UTF-8 with an optional BOM. Raises a VocabFileError subclass when the file is missing,
    unreadable, not UTF-8 or holds no value."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise VocabFileNotFound(path) from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise VocabFileUnreadable(path, reason) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VocabFileNotUtf8(path, data[exc.start], exc.start, data.count(b"\n", 0, exc.start) + 1) from None
    values = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not values:
        raise VocabFileEmpty(path)
    return values
