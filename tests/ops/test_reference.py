"""docs/language.md's op reference is the registry's: regenerate it after changing an op
(`python -m recdsl.cli.reference --write`)."""
from __future__ import annotations

from pathlib import Path

from recdsl.ops.reference import BEGIN, END, generated, refresh

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def test_the_language_reference_matches_the_registry():
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    assert refresh(DOC) == text, "run `python -m recdsl.cli.reference --write`"
    assert "`din`" in generated() or "din" in generated()
