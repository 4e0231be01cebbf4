"""Index pairs (i, j) of fields in row-major upper-triangle order, shared by pairwise blocks."""
from __future__ import annotations


def upper_pairs(fields: int, diagonal: bool = False) -> tuple[list[int], list[int]]:
    """([i...], [j...]) for i < j (i <= j with diagonal), ordered (0,1), (0,2), ..., (1,2), ..."""
    first, second = [], []
    for i in range(fields):
        for j in range(i if diagonal else i + 1, fields):
            first.append(i)
            second.append(j)
    return first, second
