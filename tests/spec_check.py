"""Check a spec written by a test: the checked spec, or the one error it must raise."""
from __future__ import annotations

from pathlib import Path

import pytest

import recdsl
from recdsl.lang.errors import SpecErrors


def checked(tmp_path: Path, text: str):
    """The CheckedSpec of `text`, written to tmp_path/spec.rec (so errors name that file)."""
    path = tmp_path / "spec.rec"
    path.write_text(text, encoding="utf-8")
    return recdsl.typecheck(path)


def only_error(tmp_path: Path, text: str):
    """The one error (not warning) checking `text` raises."""
    with pytest.raises(SpecErrors) as info:
        checked(tmp_path, text)
    errors = [e for e in info.value.errors if e.severity == "error"]
    assert len(errors) == 1, [e.message for e in errors]
    return errors[0]
