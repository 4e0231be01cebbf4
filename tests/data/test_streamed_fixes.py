"""A streamed split counts the values it sends to the OOV row (unseen, or cut by max_tokens) as
the cached split does: the same fix rows, counts and first rows, over several files whose
chunks tf.data's parallel map may run in any order; later passes count nothing again."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recdsl
from recdsl.data.errors import FixLog
from recdsl.data.pipeline import Split
from recdsl.data.preprocess import Preprocessor
from recdsl.data.schema import schema_of
from recdsl.data.source import read

pytest.importorskip("tensorflow")

SPEC = """model cut
feature tag   : category(max_tokens=3, dim=4)
feature color : category(vocab=["red", "green"], dim=4)
feature hist  : sequence(of=tag, max_len=4)
pool hv = avg(hist)
output y = sigmoid(mlp([tag, color, hv], units=[4]))
"""


def write(path, rng, rows: int):
    tags = np.array(["a", "b", "c", "d", "e", "f"], dtype=object)
    pq.write_table(pa.table({
        "tag": tags[np.minimum(rng.geometric(0.45, rows) - 1, 5)].tolist(),
        "color": [["red", "green", "pink", None][i] for i in rng.integers(0, 4, rows)],
        "hist": [tags[rng.integers(0, 6, rng.integers(0, 5))].tolist() for _ in range(rows)],
        "y": rng.integers(0, 2, rows).tolist()}), path)


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fixes")
    rng = np.random.default_rng(11)
    paths = [folder / f"part-{i}.parquet" for i in range(4)]
    for path in paths:
        write(path, rng, 300)
    (folder / "cut.rec").write_text(SPEC, encoding="utf-8")
    schema = schema_of(recdsl.typecheck(folder / "cut.rec"))
    pre = Preprocessor.fit(read(paths, schema, FixLog()), schema)
    cached = Split("train", paths, pre).load()
    streamed = Split("train", paths, pre)
    data = streamed.dataset(64, shuffle_buffer=500, seed=3)
    for _ in data:  # the first pass counts
        pass
    first = [dict(f) for f in streamed.fixes.rows()]
    for _ in data:  # a second pass adds nothing
        pass
    return pre, cached, streamed, first


def test_the_streamed_fixes_are_the_cached_ones(splits):
    pre, cached, streamed, _ = splits
    assert pre.tables["tag"]["seen"] == 6 and len(pre.tables["tag"]["vocabulary"]) == 3

    def key(f):
        return (f["column"], f["what"])

    assert sorted(streamed.fixes.rows(), key=key) == sorted(cached.fixes.rows(), key=key)
    whats = {key(f) for f in streamed.fixes.rows()}
    assert {("tag", "beyond max_tokens=3 -> OOV row"), ("hist", "beyond max_tokens=3 -> OOV row"),
            ("color", "unseen value -> OOV row"), ("color", "null or empty -> OOV row")} <= whats


def test_a_second_pass_counts_nothing_again(splits):
    _, _, streamed, first = splits
    assert streamed.fixes.rows() == first and streamed.rows == 1_200
