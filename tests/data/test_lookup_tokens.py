"""A listed or learned value gets its own row whatever it is: "[UNK]" (StringLookup's own OOV
token) and -(2**62) (the IntegerLookup token recdsl uses) are values like any other, for
vocab=, vocab_file= and max_tokens= tables. preprocessing.json stays what it was for every
other vocabulary, and a run saved before the fix keeps the rows it was trained with."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recdsl
from recdsl.data.errors import FixLog
from recdsl.data.lookups import INT_OOV_TOKEN, OOV_KEY, oov_token
from recdsl.data.pipeline import Split
from recdsl.data.preprocess import Preprocessor
from recdsl.data.schema import schema_of
from recdsl.data.source import read

pytest.importorskip("tensorflow")

SPEC = """model v
feature listed  : category(vocab=["[UNK]", "x", "[[UNK]]"], dim=4)
feature filed   : category(vocab_file="values.txt", dim=4)
feature learned : category(max_tokens=3, dim=4)
feature codes   : category(max_tokens=2, dim=4)
output y = sigmoid(mlp([listed, filed, learned, codes], units=[4]))
"""
DATA = {
    "listed": ["[UNK]", "x", "[[UNK]]", "zz", ""],
    "filed": ["[UNK]", "b", "c", "[UNK]", "nope"],
    "learned": ["[UNK]", "[UNK]", "[UNK]", "p", "q"],
    "codes": [INT_OOV_TOKEN, INT_OOV_TOKEN, 7, 7, 8],
    "y": [1, 0, 1, 0, 1],
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("tokens")
    (d / "values.txt").write_text("[UNK]\nb\nc\n", encoding="utf-8")
    (d / "v.rec").write_text(SPEC, encoding="utf-8")
    schema = schema_of(recdsl.typecheck(d / "v.rec"))
    data = d / "data.parquet"
    pq.write_table(pa.table({k: pa.array(v) for k, v in DATA.items()}), data)
    pre = Preprocessor.fit(read(data, schema, FixLog("train")), schema)
    return d, schema, data, pre


def rows_of(pre, data) -> tuple[dict, list]:
    split = Split("train", data, pre).load()
    return {k: v.tolist() for k, v in split.inputs.items()}, split.fixes.rows()


def test_every_listed_or_learned_value_has_its_own_row(world):
    _, _, data, pre = world
    inputs, fixes = rows_of(pre, data)
    assert inputs["listed"] == [2, 3, 4, 1, 1]     # "[UNK]" is row 2, "zz" unseen, "" missing
    assert inputs["filed"] == [2, 3, 4, 2, 1]      # the file's first line "[UNK]" is row 2
    assert pre.tables["learned"]["vocabulary"] == ["[UNK]", "p", "q"]
    assert inputs["learned"] == [2, 2, 2, 3, 4]
    assert pre.tables["codes"]["vocabulary"] == [INT_OOV_TOKEN, 7]
    assert inputs["codes"] == [2, 2, 3, 3, 1]
    unseen = {f["column"]: f["rows"] for f in fixes if f["what"] == "unseen value -> OOV row"}
    assert unseen == {"listed": 1, "filed": 1}
    cut = {f["column"]: f["rows"] for f in fixes if f["what"] == "beyond max_tokens=2 -> OOV row"}
    assert cut == {"codes": 1}  # 8 was seen in training, but max_tokens=2 kept the two most frequent


def test_the_token_is_saved_only_where_it_differs(world):
    d, _, data, pre = world
    assert {name: t.get(OOV_KEY) for name, t in pre.tables.items()} == {
        "listed": "[[[UNK]]]", "filed": "[[UNK]]", "learned": "[[UNK]]", "codes": INT_OOV_TOKEN - 1}
    loaded = Preprocessor.load(pre.save(d / "preprocessing.json"))
    assert rows_of(loaded, data) == rows_of(pre, data)


def test_a_run_saved_before_keeps_its_rows(world):
    """Without the saved token the lookup is Keras' default one: a leading "[UNK]" is its OOV
    token again, as the run was trained."""
    d, _, data, pre = world
    saved = pre.to_json()
    for entry in saved["tables"].values():
        entry.pop(OOV_KEY, None)
    (d / "old.json").write_text(json.dumps(saved), encoding="utf-8")
    inputs, _ = rows_of(Preprocessor.load(d / "old.json"), data)
    assert inputs["listed"] == [1, 2, 3, 1, 1] and inputs["filed"] == [1, 2, 3, 1, 1]


def test_plain_vocabularies_write_the_same_preprocessing_json(tmp_path):
    (tmp_path / "p.rec").write_text('model p\nfeature c : category(vocab=["a", "b"], dim=4)\n'
                                    'feature t : category(max_tokens=4, dim=4)\n'
                                    'output y = sigmoid(mlp([c, t], units=[2]))\n', encoding="utf-8")
    schema = schema_of(recdsl.typecheck(tmp_path / "p.rec"))
    pq.write_table(pa.table({"c": ["a", "b"], "t": ["u", "v"], "y": [0, 1]}), tmp_path / "d.parquet")
    pre = Preprocessor.fit(read(tmp_path / "d.parquet", schema, FixLog("train")), schema)
    assert pre.tables == {"c": {"dtype": "string"}, "t": {"dtype": "string", "vocabulary": ["u", "v"], "seen": 2}}


def test_oov_token_avoids_the_vocabulary():
    assert oov_token("string", ["a"]) == "[UNK]"
    assert oov_token("string", ["[UNK]", "[[UNK]]"]) == "[[[UNK]]]"
    assert oov_token("int64", range(5)) == INT_OOV_TOKEN
    assert oov_token("int64", [INT_OOV_TOKEN, INT_OOV_TOKEN - 1]) == INT_OOV_TOKEN - 2


def test_learned_counts_of_an_integer_and_its_text_are_summed(tmp_path):
    """One table read from a Parquet file (integers) and a CSV file (text): "7" and 7 are one
    value, counted once each time they occur."""
    (tmp_path / "m.rec").write_text("model m\nfeature t : category(max_tokens=1, dim=4)\n"
                                    "output y = sigmoid(mlp([t], units=[2]))\n", encoding="utf-8")
    schema = schema_of(recdsl.typecheck(tmp_path / "m.rec"))
    pq.write_table(pa.table({"t": [9, 9, 9, 7], "y": [0, 1, 0, 1]}), tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text("t,y\n7,1\n7,0\n9,1\n", encoding="utf-8")
    pre = Preprocessor.fit(read([tmp_path / "a.parquet", tmp_path / "b.csv"], schema, FixLog("train")), schema)
    assert pre.tables["t"]["vocabulary"] == ["9"] and pre.tables["t"]["seen"] == 2  # 9: 4 times, 7: 3
    assert np.array_equal(pre.transform_arrays({"t": np.array(["7", "9"], object),
                                                "t#missing": np.array([False, False])})["t"], [1, 2])
