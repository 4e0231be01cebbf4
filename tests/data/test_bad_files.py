"""Files a user really meets that are broken as a whole or in ways pyarrow does not locate:
CSV lines with the wrong number of fields, invalid UTF-8, NUL bytes, empty and header-only
files, integers beyond 64 bits, Parquet columns of a type that is no value, and aligned lists
(read position by position by one pool) whose lengths disagree. Each names the file, column
and 1-based row (CSV row N is line N + 1) or follows a documented rule."""
from __future__ import annotations

import gzip

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recdsl
from recdsl.data.errors import DataError, FixLog
from recdsl.data.schema import aligned_groups, schema_from_json, schema_of, schema_to_json
from recdsl.data.source import read

from .test_source import assert_error, error_of, load, write

SPEC = """model m
feature item  : id(buckets=50, dim=4)
feature cat   : category(vocab=["a", "b"], dim=4)
feature code  : category(size=5, dim=4)
feature age   : numeric(normalize=standard)
feature hist  : sequence(of=item, max_len=3)
feature hcat  : sequence(of=cat, max_len=3)
pool interest = din(query=[item, cat], keys=[hist, hcat], units=[8])
output click  = sigmoid(mlp([item, cat, code, age, interest], units=[8]))
"""
HEADER = "item,cat,code,age,hist,hcat,click\n"
ROW = "1,a,1,1.0,1^2,a^b,1\n"
FORMATS = ["parquet", "csv"]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "m.rec"
    path.write_text(SPEC, encoding="utf-8")
    return recdsl.typecheck(path)


@pytest.fixture(scope="module")
def schema(spec):
    return schema_of(spec)


def base(n: int = 3) -> dict:
    return {"item": list(range(1, n + 1)), "cat": ["a" if i % 2 else "b" for i in range(n)],
            "code": [i % 5 for i in range(n)], "age": [float(i) for i in range(n)],
            "hist": [[1, 2][: i % 3] for i in range(n)], "hcat": [["a", "b"][: i % 3] for i in range(n)],
            "click": [i % 2 for i in range(n)]}


def csv_file(tmp_path, body: bytes | str, name: str = "d.csv"):
    path = tmp_path / name
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return path


# --- CSV files pyarrow refuses without a line -----------------------------------------------

@pytest.mark.parametrize("fields", [12, 4])
def test_a_line_with_the_wrong_number_of_fields_names_its_line_and_row(tmp_path, schema, fields):
    bad = ",".join(ROW.strip().split(",") + ["9"] * 5) if fields == 12 else "1,a,1,1"
    path = csv_file(tmp_path, HEADER + ROW + ROW + bad + "\n" + ROW)
    err = error_of(path, schema)
    assert_error(err, path, None, 3, f"line 4 has {fields} fields, but the header names 7 columns")
    assert "quoted" in err.hint


def test_a_bad_line_past_the_first_block_of_a_gzipped_csv(tmp_path, schema):
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(HEADER + ROW * 30_000 + "1,a,1\n")
    assert_error(error_of(path, schema), path, None, 30_001, "line 30,002 has 3 fields, but the header names 7 columns")


def test_invalid_utf8_names_the_column_and_row(tmp_path, schema):
    path = csv_file(tmp_path, HEADER.encode() + ROW.encode() + b"2,a,1,1.0,1^2,a\xff^b,0\n")
    err = error_of(path, schema)
    assert_error(err, path, "hcat", 2, "invalid UTF-8 text on line 3: b'a\\xff^b'")
    assert "UTF-8" in err.hint


def test_invalid_utf8_in_a_column_that_is_not_read_is_no_error(tmp_path, schema):
    path = csv_file(tmp_path, b"note," + HEADER.encode() + b"caf\xe9," + ROW.encode())
    arrays, _, _ = load(path, schema)
    assert arrays["cat"].tolist() == ["a"]


def test_nul_bytes_in_the_header_are_named_as_such(tmp_path, schema):
    path = csv_file(tmp_path, HEADER.encode().replace(b"hcat", b"hc\x00at") + ROW.encode())
    err = error_of(path, schema)
    assert_error(err, path, None, None, "the header line holds NUL bytes (\\x00)")
    assert "UTF-16" in err.hint and "missing" not in str(err)


def test_a_file_of_nul_bytes_and_a_utf16_file(tmp_path, schema):
    for name, body in [("zeros.csv", b"\x00" * 300), ("utf16.csv", (HEADER + ROW).encode("utf-16"))]:
        path = csv_file(tmp_path, body, name)
        assert_error(error_of(path, schema), path, None, None, "the header line holds NUL bytes (\\x00)")


def test_nul_bytes_after_the_data_name_their_line(tmp_path, schema):
    path = csv_file(tmp_path, HEADER.encode() + ROW.encode() * 2 + b"\x00" * 64 + b"\n")
    assert_error(error_of(path, schema), path, None, 3, "line 4 holds NUL bytes (\\x00)")


def test_an_empty_csv_file(tmp_path, schema):
    path = csv_file(tmp_path, b"")
    err = error_of(path, schema)
    assert_error(err, path, None, None, "the file is empty (not even a header line)")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_header_only_training_file_is_named(tmp_path, schema, fmt):
    from recdsl.data.preprocess import Preprocessor

    path = write(tmp_path, fmt, {k: v[:0] for k, v in base().items()},
                 types={"hist": pa.list_(pa.int64()), "hcat": pa.list_(pa.string()), "cat": pa.string()})
    with pytest.raises(DataError) as info:
        Preprocessor.fit(read(path, schema, FixLog("train")), schema)
    assert_error(info.value, path, None, None, "the training data has no rows")
    other = write(tmp_path, fmt, {k: v[:0] for k, v in base().items()}, name="more",
                  types={"hist": pa.list_(pa.int64()), "hcat": pa.list_(pa.string()), "cat": pa.string()})
    with pytest.raises(DataError) as info:
        Preprocessor.fit(read([path, other], schema, FixLog("train")), schema)
    assert info.value.message == f"the training data has no rows: {path}, {other}"


# --- integers beyond 64 bits ------------------------------------------------------------------

def split_of(train, data, schema):
    from recdsl.data.pipeline import Split
    from recdsl.data.preprocess import Preprocessor

    pre = Preprocessor.fit(read(train, schema, FixLog("train")), schema)
    return pre, Split("test", data, pre).load()


def test_a_20_digit_code_is_an_unseen_value(tmp_path, schema):
    path = csv_file(tmp_path, HEADER + "1,a,12345678901234567890,1.0,1^2,a^b,1\n"
                    + "2,a,-99999999999999999999,1.0,1^2,a^b,1\n3,b,4,2.0,,,0\n")
    _, split = split_of(path, path, schema)
    assert split.inputs["code"].tolist() == [1, 1, 6]  # the OOV row; code 4 is row 6
    assert [(f["column"], f["what"], f["rows"], f["first"]) for f in split.fixes.rows()] == [
        ("code", "unseen value -> OOV row", 2, f"{path} row 1")]


def test_a_20_digit_id_for_a_table_hashing_64_bit_integers_is_an_error(tmp_path, schema):
    train = write(tmp_path, "parquet", base())  # integer ids: the item table is int64
    data = csv_file(tmp_path, HEADER + ROW + "12345678901234567890,a,1,1.0,1^2,a^b,1\n")
    with pytest.raises(DataError) as info:
        split_of(train, data, schema)
    assert_error(info.value, data, "item", 2, "the id 12345678901234567890 does not fit in 64 bits")
    assert "text" in info.value.hint


def test_parquet_uint64_ids_beyond_int64_are_hashed_as_their_text(tmp_path, schema):
    import keras

    big = [2 ** 64 - 1, 2 ** 63, 7]
    data = {**base(), "item": big, "hist": [[2 ** 63 + 5], [], [1, 2]], "hcat": [["a"], [], ["a", "b"]]}
    path = write(tmp_path, "parquet", data, types={"item": pa.uint64(), "hist": pa.list_(pa.uint64())})
    pre, split = split_of(path, path, schema)
    assert pre.tables["item"]["dtype"] == "string"
    expected = np.asarray(keras.layers.Hashing(num_bins=50)(np.array([str(v) for v in big]))) + 2
    assert split.inputs["item"].tolist() == expected.tolist()
    assert split.inputs["hist"][0, 0] == int(keras.layers.Hashing(num_bins=50)(np.array([str(2 ** 63 + 5)]))[0]) + 2


def test_parquet_uint64_codes_beyond_int64_are_unseen(tmp_path, schema):
    path = write(tmp_path, "parquet", {**base(), "code": [2 ** 64 - 1, 3, 4]}, types={"code": pa.uint64()})
    _, split = split_of(path, path, schema)
    assert split.inputs["code"].tolist() == [1, 5, 6]


def test_a_float_coded_category_beyond_64_bits_is_an_error(tmp_path, schema):
    path = write(tmp_path, "parquet", {**base(), "code": [1.0, 1e20, 2.0]})
    assert_error(error_of(path, schema), path, "code", 2,
                 "holds the number 1e+20; a categorical column holds integers (within 64 bits) or text")


# --- Parquet columns of other types -----------------------------------------------------------

def test_a_timestamp_or_struct_in_a_categorical_column(tmp_path, schema):
    import datetime

    stamps = [datetime.datetime(2024, 1, i + 1) for i in range(3)]
    path = write(tmp_path, "parquet", {**base(), "cat": stamps}, name="t")
    assert_error(error_of(path, schema), path, "cat", None, "has type timestamp[us], not integers or text")
    path = write(tmp_path, "parquet", {**base(), "code": [{"a": 1}] * 3}, name="s")
    assert_error(error_of(path, schema), path, "code", None, "has type struct<a: int64>, not integers or text")


def test_a_date_in_a_numeric_column(tmp_path, schema):
    import datetime

    path = write(tmp_path, "parquet", {**base(), "age": [datetime.date(2024, 1, 1)] * 3})
    assert_error(error_of(path, schema), path, "age", None, "has type date32[day], not numbers")


def test_columns_of_nulls_only(tmp_path, schema):
    """pyarrow types a column of nulls as `null`: categorical values are missing (the OOV row,
    counted), numbers are missing (an error unless `missing: fill`), lists are empty."""
    data = {**base(), "cat": [None] * 3, "age": [None] * 3, "hist": [[], [], []], "hcat": [[], [], []]}
    path = write(tmp_path, "parquet", data)
    assert pa.types.is_null(pq.read_schema(path).field("cat").type)
    assert pa.types.is_null(pq.read_schema(path).field("hist").type.value_type)
    assert_error(error_of(path, schema), path, "age", 1, "missing value (null/NaN) in a numeric feature")
    arrays, _, fixes = load(path, schema, missing="fill")
    assert arrays["cat#missing"].tolist() == [True] * 3 and arrays["hist#len"].tolist() == [0, 0, 0]
    assert {(f["column"], f["what"], f["rows"]) for f in fixes.rows()} == {
        ("cat", "null or empty -> OOV row", 3), ("age", "missing -> training mean", 3)}


def test_a_list_column_with_null_lists_and_nulls_inside(tmp_path, schema):
    data = {**base(), "hist": [[1, 2], None, [3]], "hcat": [["a", "b"], None, ["a"]]}
    arrays, _, fixes = load(write(tmp_path, "parquet", data, name="ok"), schema)
    assert arrays["hist#len"].tolist() == [2, 0, 1] and fixes.rows() == []  # a null list is an empty list
    path = write(tmp_path, "parquet", {**data, "hcat": [["a", "b"], None, [None]]}, name="bad")
    assert_error(error_of(path, schema), path, "hcat", 3, "a list holds a null value")


# --- aligned lists ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_aligned_lists_of_different_lengths_are_refused(tmp_path, schema, fmt):
    data = {**base(), "hist": [[1], [1, 2, 3, 4, 5], [2]], "hcat": [["a"], ["a", "b"], ["b"]]}
    err = error_of(write(tmp_path, fmt, data), schema)
    assert_error(err, tmp_path / f"data.{fmt}", "hcat", 2,
                 "2 values, but 'hist' has 5 in this row; hist and hcat are read position by position "
                 "together (keys of `interest`)")
    assert "i-th of hcat belongs to the i-th of hist" in err.hint


@pytest.mark.parametrize("fmt", FORMATS)
def test_aligned_lists_are_compared_before_the_cut(tmp_path, schema, fmt):
    """max_len is 3: lists of 5 and 4 values would both keep 3, paired wrongly; equal long
    lists keep their newest 3 each, still paired."""
    ok = {**base(), "hist": [[1, 2, 3, 4, 5], [], [1]], "hcat": [list("ababa"), [], ["a"]]}
    arrays, _, fixes = load(write(tmp_path, fmt, ok, name="ok"), schema)
    assert arrays["hist#len"].tolist() == arrays["hcat#len"].tolist() == [3, 0, 1]
    assert [f["column"] for f in fixes.rows()] == ["hist", "hcat"]  # both cut, counted
    bad = {**ok, "hcat": [list("abab"), [], ["a"]]}
    path = write(tmp_path, fmt, bad, name="bad")
    assert_error(error_of(path, schema), path, "hcat", 1,
                 "4 values, but 'hist' has 5 in this row; hist and hcat are read position by position "
                 "together (keys of `interest`)")


def test_aligned_rows_are_numbered_across_chunks(tmp_path, schema):
    n = 10
    data = {**base(n), "hist": [[1, 2]] * n, "hcat": [["a", "b"]] * 7 + [["a"]] + [["a", "b"]] * 2}
    path = write(tmp_path, "csv", data)
    assert error_of(path, schema, chunk_rows=3).row == 8


ALIGN_SPEC = """model a
feature item  : id(buckets=50, dim=4)
feature cate  : category(size=4, dim=4)
feature shop  : category(size=4, dim=4)
feature hist  : sequence(of=item, max_len=5)
feature hcate : sequence(of=cate, max_len=5)
feature hshop : sequence(of=shop, max_len=5)
feature other : sequence(of=item, max_len=5)
group history = [hist, hcate]
block selfatt = self_attention(other, heads=1, head_dim=4)
pool p1 = din(query=[item, cate], keys=history, units=[4])
pool p2 = din(query=[item, shop], keys=[hcate, hshop], units=[4])
pool p3 = attention(query=item, keys=selfatt)
pool p4 = avg(other)
output y = sigmoid(mlp([item, p1, p2, p3, p4], units=[4]))
"""


def test_aligned_groups_expand_groups_merge_overlaps_and_are_saved(tmp_path):
    (tmp_path / "a.rec").write_text(ALIGN_SPEC, encoding="utf-8")
    spec = recdsl.typecheck(tmp_path / "a.rec")
    groups = aligned_groups(spec)
    assert [(g.features, g.uses) for g in groups] == [
        (("hist", "hcate", "hshop"), ("keys of `p1`", "keys of `p2`"))]  # `other` is alone (p3, p4)
    schema = schema_of(spec)
    assert schema_from_json(schema_to_json(schema)).aligned == groups
    old = schema_to_json(schema)
    del old["aligned"]  # a run saved before aligned groups
    assert schema_from_json(old).aligned == ()


def test_a_sequence_block_keeps_its_features_positions(tmp_path):
    text = ALIGN_SPEC.replace("pool p3 = attention(query=item, keys=selfatt)",
                              "pool p3 = din(query=[item, cate], keys=[selfatt, hcate], units=[4])")
    (tmp_path / "a.rec").write_text(text, encoding="utf-8")
    groups = aligned_groups(recdsl.typecheck(tmp_path / "a.rec"))
    assert [g.features for g in groups] == [("hist", "hcate", "hshop", "other")]
