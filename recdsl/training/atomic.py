"""Run files written atomically: each file is written under a temporary name in its own folder,
flushed to disk and renamed over its final name (os.replace). A run killed, or out of disk space,
in the middle of a write leaves the previous version (or nothing) under the final name, never
half a file; the temporary file is removed when the write fails.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

#: temporary files start with this (and are hidden); a killed run may leave one behind
TMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`, with the same suffix (writers such as model.save and
    graphviz choose their format by it), for the caller to write; when the block ends without an
    error the file is flushed and renamed to `path`, otherwise it is removed."""
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        yield tmp
        _finish(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _finish(tmp: Path) -> None:
    """Flush a written temporary file to disk, so that a full disk fails here, before the rename
    (some file systems report ENOSPC only on fsync or close)."""
    if tmp.is_file():
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes(path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(path)


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, data) -> Path:
    """`data` as indented, key-sorted JSON (numpy numbers and paths as plain values)."""
    return write_text(path, json.dumps(data, indent=1, sort_keys=True, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)
