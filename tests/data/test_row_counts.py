"""DIN's n_j: each embedding row's occurrences in the training data, counted while preprocessing is
fitted, saved in preprocessing.json, and set into the regularised tables' `row_frequency` — against
the rows the fitted pipeline itself feeds the model, and against counts of the raw values."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recdsl
from recdsl.data.errors import FixLog
from recdsl.data.pipeline import Split
from recdsl.data.preprocess import Preprocessor
from recdsl.data.row_counts import frequencies
from recdsl.data.schema import schema_of
from recdsl.data.source import read

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

SPEC = """model counted
feature item  : id(buckets=50, dim=4, l2=0.01)
feature color : category(vocab=["red", "green", "blue"], dim=4)
feature tag   : category(max_tokens=2, dim=4)
feature hist  : sequence(of=item, max_len=3)
pool hv = avg(hist)
output y = sigmoid(mlp([item, color, tag, hv], units=[4]))
"""


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("counts")
    (folder / "c.rec").write_text(SPEC, encoding="utf-8")
    spec = recdsl.typecheck(folder / "c.rec")
    schema = schema_of(spec)
    rng = np.random.default_rng(4)
    n = 80
    data = {"item": rng.integers(1, 30, n).tolist(),
            "color": [["red", "green", "blue", "pink", None][i] for i in rng.integers(0, 5, n)],
            "tag": [["a", "b", "c", None][i] for i in rng.integers(0, 4, n)],
            "hist": [rng.integers(1, 30, rng.integers(0, 4)).tolist() for _ in range(n)],
            "y": rng.integers(0, 2, n).tolist()}
    path = folder / "train.parquet"
    pq.write_table(pa.table(data), path)
    pre = Preprocessor.fit(read(path, schema, FixLog(), missing="fill", chunk_rows=9), schema)
    split = Split("train", path, pre, missing="fill").load()
    return spec, schema, pre, split, data, folder


def test_counts_are_the_rows_the_pipeline_feeds(fitted):
    """Every table: the count of each row over every feature using it (padding excluded)."""
    spec, schema, pre, split, _, _ = fitted
    for name in schema.tables:
        seen = Counter()
        for col in schema.table_columns(name):
            rows = np.asarray(split.inputs[col.feature]).ravel()
            seen.update(int(r) for r in rows if r != 0)
        entry = pre.row_counts[name]
        assert dict(zip(entry["rows"], entry["counts"])) == dict(seen), name


def test_counts_of_raw_values(fitted):
    """color: a fixed vocabulary (rows 2, 3, 4); "pink" and missing values on the OOV row 1."""
    _, _, pre, _, data, _ = fitted
    raw = Counter(data["color"])
    entry = dict(zip(pre.row_counts["color"]["rows"], pre.row_counts["color"]["counts"]))
    assert entry == {k: v for k, v in {2: raw["red"], 3: raw["green"], 4: raw["blue"],
                                       1: raw["pink"] + raw[None]}.items() if v}


def test_counts_are_saved_and_loaded(fitted):
    _, _, pre, _, _, folder = fitted
    again = Preprocessor.load(pre.save(folder / "preprocessing.json"))
    assert again.row_counts == pre.row_counts


def test_the_regularised_table_gets_its_frequencies(fitted):
    from recdsl.emitter import emit
    from recdsl.training.row_frequency import set_row_frequencies

    spec, _, pre, _, _, _ = fitted
    model = emit(spec)
    assert set_row_frequencies(model, spec, pre) == ["item-embed"]   # color and tag have no l2
    layer = model.get_layer("item-embed")
    want = np.ones(layer.rows, dtype="float32")
    entry = pre.row_counts["item"]
    want[entry["rows"]] = entry["counts"]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.row_frequency.value), want)
    np.testing.assert_array_equal(frequencies({}, 4), np.ones(4, dtype="float32"))   # a run saved before
