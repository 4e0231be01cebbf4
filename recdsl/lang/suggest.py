"""Did-you-mean suggestions for misspelled names, ops and arguments."""
from __future__ import annotations

import difflib
from typing import Iterable

#: Words longer than this get no suggestion: comparing them costs time quadratic in their length.
MAX_WORD = 100
#: Candidate comparisons one Suggestions makes in all; once spent, further words get no suggestion, so
#: a spec with thousands of different misspellings among thousands of names still checks in linear time.
COMPARISONS = 100_000


def closest(word: str, candidates: Iterable[str]) -> str | None:
    if len(word) > MAX_WORD:
        return None
    matches = difflib.get_close_matches(word, sorted({c for c in candidates if len(c) <= MAX_WORD}), n=1,
                                        cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`did you mean `x`?` or the empty string."""
    match = closest(word, candidates)
    return f"did you mean `{match}`?" if match else ""


class Suggestions:
    """did_you_mean remembered per word, within a budget of COMPARISONS: the checker asks once per
    mention of an undefined name, and a spec may mention misspelt names thousands of times."""

    def __init__(self, budget: int = COMPARISONS):
        self.known: dict[str, str] = {}
        self.budget = budget

    def did_you_mean(self, word: str, candidates) -> str:
        """`candidates`: a sized collection (its length is what a suggestion costs)."""
        if word not in self.known:
            self.budget -= len(candidates)
            self.known[word] = did_you_mean(word, candidates) if self.budget >= 0 else ""
        return self.known[word]
