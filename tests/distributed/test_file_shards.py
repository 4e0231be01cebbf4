"""Which rows each process reads (recdsl.data.source.shard_of): file-level round robin with at least
as many files as processes, else row-level inside each file; every row read exactly once."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recdsl.checker import check
from recdsl.data import source
from recdsl.data.errors import FixLog
from recdsl.data.schema import schema_of
from recdsl.lang.parser import parse

SPEC = """model m "one id"
feature item : id(buckets=1000, dim=4)
output click = sigmoid(mlp([item], units=[4]))
"""


def test_the_rule():
    files = [f"f{i}" for i in range(5)]
    assert source.shard_of(files, 0, 1) == (files, 0, 1)
    assert source.shard_of(files, 0, 2) == (["f0", "f2", "f4"], 0, 1)
    assert source.shard_of(files, 1, 2) == (["f1", "f3"], 0, 1)
    assert source.shard_of(files, 4, 5) == (["f4"], 0, 1)
    assert source.shard_of(files[:2], 1, 3) == (files[:2], 1, 3)  # fewer files: rows


@pytest.fixture
def files(tmp_path):
    paths = []
    for i, n in enumerate((7, 5)):
        path = tmp_path / f"part-{i}.parquet"
        pq.write_table(pa.table({"item": np.arange(n) + 100 * i, "click": np.arange(n) % 2}), path)
        paths.append(path)
    return paths


def items(paths, shard, chunk_rows=3) -> list:
    schema = schema_of(check(parse(SPEC, "m.rec")), {}, {})
    reading = source.read(paths, schema, FixLog("train"), chunk_rows=chunk_rows, shard=shard)
    return [int(v) for chunk in reading for v in chunk.arrays["item"]]


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_every_row_is_read_by_exactly_one_process(files, count):
    parts = [items(files, (i, count)) for i in range(count)]
    assert sorted(sum(parts, [])) == list(range(7)) + list(range(100, 105))
    if count == 2:  # two files, two processes: a file each
        assert parts == [list(range(7)), list(range(100, 105))]
    if count == 3:  # rows 0, 3, 6 of each file (chunks of 3 rows: the rule holds across chunks)
        assert parts[0] == [0, 3, 6, 100, 103]
        assert parts[2] == [2, 5, 102]


def test_a_sharded_split_estimates_its_own_rows(files):
    from recdsl.data.pipeline import Split
    from recdsl.data.preprocess import Preprocessor

    schema = schema_of(check(parse(SPEC, "m.rec")), {}, {})
    pre = Preprocessor.fit(source.read(files, schema, FixLog("train")), schema)
    assert Split("train", files, pre, shard=(0, 2)).row_estimate() == 7
    assert Split("train", files, pre, shard=(1, 3)).row_estimate() == 12 // 3
    split = Split("train", files, pre, shard=(1, 3)).load()
    assert split.rows == 4 and sorted(split.inputs["item"].tolist()) == sorted(split.inputs["item"].tolist())
    assert split.keep_first(3).rows == 3 and len(split.targets["click"]) == 3
