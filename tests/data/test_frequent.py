"""Vocabularies learned in bounded memory (recdsl.data.frequent): exact while the distinct values
fit, Misra-Gries' guarantees beyond, against counts numpy makes of the whole stream."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import recdsl
from recdsl.data import frequent
from recdsl.data.errors import FixLog
from recdsl.data.frequent import FrequentValues, merged, most_frequent
from recdsl.data.preprocess import Preprocessor
from recdsl.data.schema import schema_of
from recdsl.data.source import read
from recdsl.ops.rows import OOV_ROW


def zipf_stream(seed: int, draws: int, universe: int, exponent: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    weights = np.arange(1, universe + 1, dtype="float64") ** -exponent
    ranks = rng.choice(universe, size=draws, p=weights / weights.sum())
    return rng.permutation(universe).astype("int64")[ranks] * 7 + 3  # the frequent values are not the small ones


def reference_top(values: np.ndarray, k: int) -> list:
    found, counts = np.unique(values, return_counts=True)
    order = sorted(zip(found.tolist(), counts.tolist()), key=lambda kv: (-kv[1], str(kv[0])))
    return [v for v, _ in order[:k]]


def test_exact_while_the_distinct_values_fit():
    rng = np.random.default_rng(0)
    stream = rng.integers(0, 500, 20_000)
    summary = FrequentValues(capacity=500)
    for chunk in np.array_split(stream, 37):
        summary.add(chunk)
    assert summary.as_dict() == dict(Counter(stream.tolist()))
    assert (summary.undercount, summary.seen, summary.total) == (0, len(set(stream.tolist())), 20_000)


def test_more_distinct_values_than_counters_still_give_the_true_top():
    stream = zipf_stream(1, 400_000, 60_000, 1.2)
    capacity, top = 1_000, 100
    assert len(np.unique(stream)) > 10 * capacity
    summary = FrequentValues(capacity)
    for chunk in np.array_split(stream, 80):
        summary.add(chunk)
        assert len(summary.counts) <= capacity                 # the counters after each merge
        assert summary.held() <= 2 * capacity + len(chunk)     # with what waits in the buffer
    summary.finish()
    assert len(summary.counts) <= capacity
    assert most_frequent(summary, top) == reference_top(stream, top)


def test_the_misra_gries_guarantees_hold():
    stream = zipf_stream(2, 200_000, 40_000, 1.05)
    capacity = 500
    summary = FrequentValues(capacity)
    for chunk in np.array_split(stream, 50):
        summary.add(chunk)
    kept = summary.as_dict()
    truth = Counter(stream.tolist())
    n, undercount = len(stream), summary.undercount
    assert 0 < undercount <= n / (capacity + 1)
    assert all(truth[v] - undercount <= c <= truth[v] for v, c in kept.items())
    assert {v for v, c in truth.items() if c > n / (capacity + 1)} <= set(kept)
    assert len(truth) >= summary.seen > capacity               # a lower bound of the distinct values


def test_text_and_integer_values_of_one_table_are_one_value():
    ints, texts = FrequentValues(10), FrequentValues(10)
    ints.add(np.array([5, 5, 7], dtype="int64"))
    texts.add(np.array(["5", "x"], dtype=object))
    joined = merged([ints, texts], as_text=True, capacity=10)
    assert joined.as_dict() == {"5": 3, "7": 1, "x": 1} and joined.total == 5


def test_capacity_is_ten_counters_a_token_and_at_least_the_floor():
    assert frequent.capacity_for(None) is None
    assert frequent.capacity_for(50) == frequent.MIN_CAPACITY
    assert frequent.capacity_for(1_000_000) == 10_000_000


SPEC = """model zipf
feature item : category(max_tokens=40, dim=4)
feature hist : sequence(of=item, max_len=5)
pool hv = avg(hist)
output y = sigmoid(mlp([item, hv], units=[4]))
"""


def test_a_fitted_vocabulary_beyond_its_capacity(tmp_path, monkeypatch):
    """Preprocessor.fit on a file with more distinct values than 10 x max_tokens counters: the
    true top 40 (ties by text), the undercount saved, and the row counts of the vocabulary
    values lower bounds of the truth, the OOV row getting the rest."""
    monkeypatch.setattr(frequent, "MIN_CAPACITY", 1)
    rows = 40_000
    stream = zipf_stream(3, rows * 6, 8_000, 1.3)
    items, hist = stream[:rows], stream[rows:].reshape(rows, 5)
    lengths = np.random.default_rng(5).integers(0, 6, rows)
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"item": items, "hist": [h[:n].tolist() for h, n in zip(hist, lengths)],
                             "y": np.zeros(rows, "int8")}), path, row_group_size=4_096)
    (tmp_path / "z.rec").write_text(SPEC, encoding="utf-8")
    schema = schema_of(recdsl.typecheck(tmp_path / "z.rec"))
    pre = Preprocessor.fit(read(path, schema, FixLog(), chunk_rows=4_096), schema)
    valid = np.concatenate([items, hist[np.arange(5)[None, :] < lengths[:, None]]])
    entry = pre.tables["item"]
    assert len(np.unique(valid)) > 400
    assert entry["vocabulary"] == reference_top(valid, 40)
    assert entry["undercount"] > 0 and entry["seen"] > 400
    truth = Counter(valid.tolist())
    counted = dict(zip(pre.row_counts["item"]["rows"], pre.row_counts["item"]["counts"]))
    for row, value in enumerate(entry["vocabulary"], start=OOV_ROW + 1):
        assert truth[value] - entry["undercount"] <= counted[row] <= truth[value]
    assert sum(counted.values()) == len(valid)
