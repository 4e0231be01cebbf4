"""Value counts in bounded memory, for vocabularies learned with `max_tokens`: a Misra-Gries
summary (Misra & Gries 1982; merged chunk by chunk as in Agarwal et al., "Mergeable
Summaries", PODS 2012).

A summary of capacity k keeps at most k (value, count) counters. Chunks are counted exactly
(np.unique) and wait in a buffer; when the buffer holds more than k distinct entries it is
merged into the counters: equal values' counts are added, and when more than k values remain,
the (k+1)-th largest count c is subtracted from every counter and the ones left at 0 or below
are dropped. Over a stream of N values, with D the sum of every c subtracted:

    exact         while the distinct values fit in k, nothing is ever subtracted (D = 0): every
                  value is kept with its true count, so the vocabulary is the one an exact
                  count gives;
    lower bounds  true(v) - D <= count(v) <= true(v) for every kept value, and D <= N / (k + 1)
                  (each subtraction removes at least (k + 1) c from the stream's total);
    kept          every value with true(v) > N / (k + 1) is kept.

A value kept from the start loses exactly D, so frequent values keep their order; values
whose counts are within D of each other may swap. The vocabulary (the max_tokens largest
counts, ties by value as text) is taken from the counters, so with capacity
CAPACITY_PER_TOKEN x max_tokens it holds every value more frequent than
N / (CAPACITY_PER_TOKEN x max_tokens + 1). Memory: the k counters, plus a buffer of at most
k entries and one chunk's distinct values.
"""
from __future__ import annotations

import numpy as np

#: counters kept per vocabulary entry (the summary's capacity is this x max_tokens) ...
CAPACITY_PER_TOKEN = 10
#: ... and never fewer than this many: small vocabularies stay exact on most data
MIN_CAPACITY = 100_000


def capacity_for(max_tokens: int | None) -> int | None:
    """The summary's capacity for a vocabulary of `max_tokens` entries (None: count every value)."""
    if max_tokens is None:
        return None
    return max(CAPACITY_PER_TOKEN * int(max_tokens), MIN_CAPACITY)


class FrequentValues:
    """Counts of the values added, in at most `capacity` counters (None: unbounded, exact).

    `values`/`counts` are the counters (values sorted, after `finish`); `total` is N, the values
    added; `undercount` is D, the most a kept count is below the truth (0: exact); `seen` is the
    number of distinct values: exact when `undercount` is 0, else a lower bound."""

    def __init__(self, capacity: int | None):
        if capacity is not None and capacity < 1:
            raise ValueError(f"a summary needs a capacity of at least 1, got {capacity}")
        self.capacity = capacity
        self.values: np.ndarray | None = None
        self.counts = np.zeros(0, dtype="int64")
        self.total = 0
        self.undercount = 0
        self.seen = 0
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_entries = 0

    def add(self, values: np.ndarray) -> None:
        """Count every value of a 1-d array (int64, or object holding str)."""
        if values.size == 0:
            return
        found, counts = np.unique(values, return_counts=True)
        self.add_counts(found, counts.astype("int64"))
        self.total += int(values.size)

    def add_counts(self, values: np.ndarray, counts: np.ndarray) -> None:
        """Count each of `values` (distinct) `counts` times; `total` is the caller's to keep."""
        self._pending.append((values, counts))
        self._pending_entries += len(values)
        if self.capacity is not None and self._pending_entries > self.capacity:
            self._merge()

    def finish(self) -> "FrequentValues":
        """Merge what waits in the buffer: `values`/`counts` are then the whole stream's."""
        if self._pending:
            self._merge()
        return self

    def held(self) -> int:
        """Counters held now: the summary's and the buffer's."""
        return len(self.counts) + self._pending_entries

    def as_dict(self) -> dict:
        self.finish()
        if self.values is None:
            return {}
        return dict(zip(self.values.tolist(), self.counts.tolist()))

    def _merge(self) -> None:
        parts = ([(self.values, self.counts)] if self.values is not None else []) + self._pending
        self._pending, self._pending_entries = [], 0
        values = np.concatenate([p[0] for p in parts])
        keys, inverse = np.unique(values, return_inverse=True)
        weights = np.concatenate([p[1] for p in parts]).astype("float64")  # exact below 2**53
        counts = np.rint(np.bincount(inverse.reshape(-1), weights, len(keys))).astype("int64")
        self.seen = max(self.seen, len(keys))
        if self.capacity is not None and len(keys) > self.capacity:
            cut = int(np.partition(counts, len(counts) - self.capacity - 1)[len(counts) - self.capacity - 1])
            counts -= cut
            keep = counts > 0
            keys, counts = keys[keep], counts[keep]
            self.undercount += cut
        self.values, self.counts = keys, counts


def merged(summaries: list[FrequentValues], as_text: bool, capacity: int | None) -> FrequentValues:
    """One summary of several (a table's integer and text values, as `as_text` says: an integer
    and its text are one value); the undercounts add up."""
    parts = [p for p in summaries if p.finish().values is not None]
    if len(parts) == 1 and (parts[0].values.dtype == object) == as_text:
        return parts[0]
    out = FrequentValues(capacity)
    for part in parts:
        values = part.values.astype(str).astype(object) if as_text else part.values.astype("int64")
        out.add_counts(values, part.counts)
        out.total += part.total
        out.undercount += part.undercount
    out.finish()
    out.seen = max([out.seen] + [p.seen for p in parts])
    return out


def most_frequent(summary: FrequentValues, max_tokens: int | None) -> list:
    """The `max_tokens` values of largest count (all with None), ties broken by the value's text."""
    summary.finish()
    if summary.values is None:
        return []
    values, counts = summary.values, summary.counts
    if max_tokens is not None and len(counts) > max_tokens:  # sort only the candidates
        least = np.partition(counts, len(counts) - max_tokens)[len(counts) - max_tokens]
        values, counts = values[counts >= least], counts[counts >= least]
    ranked = sorted(zip(values.tolist(), counts.tolist()), key=lambda kv: (-kv[1], str(kv[0])))
    return [v for v, _ in ranked[:max_tokens]]
