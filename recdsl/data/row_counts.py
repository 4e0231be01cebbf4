"""How often each embedding row occurs in the training data: DIN's n_j.

Counted while preprocessing is fitted (the same streamed pass), for every table: each valid
value of every column that looks the table up (a list's positions within its length; a
missing scalar counts on the OOV row, where training puts it), then mapped to its row by the
table's own preprocessing layer, as training will map it. Saved in preprocessing.json as
{table: {"rows": [...], "counts": [...]}} (rows that occur; every other row's n_j is 1), and
set into each FeatureEmbedding's `row_frequency` by `recdsl train` for its mini-batch-aware
L2 (recdsl.layers.embedding). Memory: one count per distinct value of a table, as for a
vocabulary learned from the data.
"""
from __future__ import annotations

import numpy as np

from recdsl.data.keys import length_key, missing_key
from recdsl.ops.rows import OOV_ROW

#: preprocessing.json's key for the row counts.
ROW_COUNTS = "row_counts"


class RowCounter:
    def __init__(self, schema):
        self.values: dict[str, dict] = {name: {} for name in schema.tables}
        self.missing: dict[str, int] = {name: 0 for name in schema.tables}

    def add(self, arrays: dict, col) -> None:
        """Count the values of one chunk's categorical column."""
        x = arrays[col.feature]
        if col.is_list:
            valid = x[np.arange(x.shape[1])[None, :] < arrays[length_key(col.feature)][:, None]]
        else:
            absent = arrays[missing_key(col.feature)]
            self.missing[col.table.name] += int(absent.sum())
            valid = x[~absent]
        if valid.dtype == object:
            valid = valid.astype(str)
        values, n = np.unique(valid, return_counts=True)
        found = self.values[col.table.name]
        for v, c in zip(values.tolist(), n.tolist()):
            found[v] = found.get(v, 0) + c

    def rows(self, pre) -> dict:
        """{table: {"rows": [...], "counts": [...]}}, each value mapped by `pre`'s layer of its table."""
        out = {}
        for name, found in self.values.items():
            counts: dict[int, int] = {}
            if self.missing[name]:
                counts[OOV_ROW] = self.missing[name]
            if found:
                dtype = pre.tables[name]["dtype"]
                keys, values = _typed(found, dtype)
                layer, shift = pre.layer(name)
                rows = np.asarray(layer(np.asarray(keys, dtype=object if dtype == "string" else "int64")))
                for row, c in zip((rows.astype("int64") + shift).tolist(), values):
                    counts[row] = counts.get(row, 0) + c
                for c in _unparsed(found, dtype):
                    counts[OOV_ROW] = counts.get(OOV_ROW, 0) + c
            ordered = sorted(counts)
            out[name] = {"rows": ordered, "counts": [counts[r] for r in ordered]}
        return out


def _typed(found: dict, dtype: str):
    """The values in the table's dtype and their counts (an integer and its text summed)."""
    merged: dict = {}
    for k, c in found.items():
        key = str(k) if dtype == "string" else _int(k)
        if key is not None:
            merged[key] = merged.get(key, 0) + c
    return list(merged), list(merged.values())


def _unparsed(found: dict, dtype: str):
    """Counts of values an integer table cannot read (training sends them to the OOV row)."""
    return [] if dtype == "string" else [c for k, c in found.items() if _int(k) is None]


def _int(value):
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -2 ** 63 <= number < 2 ** 63 else None


def frequencies(entry: dict, rows: int) -> np.ndarray:
    """n_j [rows] of one table from its saved entry: the count where the row occurs, 1 elsewhere."""
    freq = np.ones(rows, dtype="float32")
    for row, count in zip(entry.get("rows", ()), entry.get("counts", ())):
        if 0 <= row < rows:
            freq[row] = max(count, 1)
    return freq
