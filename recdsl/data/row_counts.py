"""How often each embedding row occurs in the training data: DIN's n_j.

Counted while preprocessing is fitted (the same streamed pass), for every table: each valid
value of every column that looks the table up (a list's positions within its length; a
missing scalar counts on the OOV row, where training puts it), then mapped to its row by the
table's own preprocessing layer, as training will map it. Saved in preprocessing.json as
{table: {"rows": [...], "counts": [...]}} (rows that occur; every other row's n_j is 1), and
set into each FeatureEmbedding's `row_frequency` by `recdsl train` for its mini-batch-aware
L2 (recdsl.layers.embedding).

Memory stays bounded however many distinct values the data holds: a hashed table is counted
per row as each chunk is read (its layer hashes an integer as its decimal text, so the table's
final dtype does not matter); a learned vocabulary's rows come from the same bounded summary
that chooses it (recdsl.data.frequent: a kept value's count, exact while the distinct values
fit in its capacity, else a lower bound within the summary's undercount; the OOV row gets the
rest of the table's values and its missing ones); a table with a declared vocabulary or size
keeps one count per distinct value, which real data bounds by that vocabulary.
"""
from __future__ import annotations

import numpy as np

from recdsl.data.keys import length_key, missing_key
from recdsl.ops.rows import OOV_ROW, RESERVED_ROWS

#: preprocessing.json's key for the row counts.
ROW_COUNTS = "row_counts"


class RowCounter:
    def __init__(self, schema):
        self.values: dict[str, dict] = {name: {} for name, t in schema.tables.items() if not (t.learned or t.hashed)}
        self.hashed: dict[str, np.ndarray] = {}
        self.missing: dict[str, int] = {name: 0 for name in schema.tables}
        self._layers: dict = {}
        self._tables = schema.tables

    def add(self, arrays: dict, col) -> np.ndarray:
        """Count the values of one chunk's categorical column; returns its valid values (a list's
        positions within its length, a scalar's non-missing values)."""
        x = arrays[col.feature]
        if col.is_list:
            valid = x[np.arange(x.shape[1])[None, :] < arrays[length_key(col.feature)][:, None]]
        else:
            absent = arrays[missing_key(col.feature)]
            self.missing[col.table.name] += int(absent.sum())
            valid = x[~absent]
        name = col.table.name
        if col.table.hashed:
            self._add_hashed(name, valid)
        elif name in self.values:
            values, n = np.unique(valid.astype(str) if valid.dtype == object else valid, return_counts=True)
            found = self.values[name]
            for v, c in zip(values.tolist(), n.tolist()):
                found[v] = found.get(v, 0) + c
        return valid

    def _add_hashed(self, name: str, valid: np.ndarray) -> None:
        if not valid.size:
            return
        if name not in self._layers:
            from recdsl.data.lookups import table_layer

            self._layers[name] = table_layer(self._tables[name], {})
            self.hashed[name] = np.zeros(self._tables[name].buckets + RESERVED_ROWS, dtype="int64")
        values, n = np.unique(valid.astype(str).astype(object) if valid.dtype == object else valid,
                              return_counts=True)
        layer, shift = self._layers[name]
        rows = np.asarray(layer(values)).astype("int64") + shift
        self.hashed[name] += np.bincount(rows, n, len(self.hashed[name])).astype("int64")

    def rows(self, pre, summaries: dict | None = None) -> dict:
        """{table: {"rows": [...], "counts": [...]}}, each value mapped by `pre`'s layer of its table;
        a learned table's from its value summary in `summaries` (recdsl.data.frequent)."""
        out = {}
        for name in self.missing:
            counts: dict[int, int] = {}
            if self.missing[name]:
                counts[OOV_ROW] = self.missing[name]
            if name in self.hashed:
                for row in np.flatnonzero(self.hashed[name]).tolist():
                    counts[row] = counts.get(row, 0) + int(self.hashed[name][row])
            found, rest = self._found(name, pre, (summaries or {}).get(name))
            if found:
                dtype = pre.tables[name]["dtype"]
                keys, values = _typed(found, dtype)
                layer, shift = pre.layer(name)
                rows = np.asarray(layer(np.asarray(keys, dtype=object if dtype == "string" else "int64")))
                for row, c in zip((rows.astype("int64") + shift).tolist(), values):
                    counts[row] = counts.get(row, 0) + c
                for c in _unparsed(found, dtype):
                    counts[OOV_ROW] = counts.get(OOV_ROW, 0) + c
            if rest:
                counts[OOV_ROW] = counts.get(OOV_ROW, 0) + rest
            ordered = sorted(counts)
            out[name] = {"rows": ordered, "counts": [counts[r] for r in ordered]}
        return out

    def _found(self, name: str, pre, summary) -> tuple[dict, int]:
        """(value -> count to map by the table's layer, count that goes to the OOV row unmapped)."""
        if summary is None:
            return self.values.get(name, {}), 0
        counted = summary.as_dict()
        found = {v: counted[v] for v in pre.tables[name].get("vocabulary", ()) if v in counted}
        return found, summary.total - sum(found.values())


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
