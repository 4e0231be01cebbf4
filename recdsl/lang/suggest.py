"""Did-you-mean suggestions for misspelled names, ops and arguments."""
from __future__ import annotations

import difflib
from typing import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`did you mean `x`?` or the empty string."""
    match = closest(word, candidates)
    return f"did you mean `{match}`?" if match else ""
