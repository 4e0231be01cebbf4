"""Reading Parquet and CSV files into checked chunks (recdsl.data.source): every bad-data rule
with its file, column, 1-based row and hint, for both formats; what is fixed and counted; list
truncation to the newest values; separators; file resolution; row numbers across chunks."""
from __future__ import annotations

import csv
import gzip
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recdsl
from recdsl.data.columns import pad_newest
from recdsl.data.errors import DataError, FixLog
from recdsl.data.schema import schema_of
from recdsl.data.source import read, resolve

SPEC = """model m
feature item  : id(buckets=50, dim=4)
feature cat   : category(vocab=["a", "b"], dim=4)
feature age   : numeric(normalize=standard)
feature hist  : sequence(of=item, max_len=3)
pool interest = din(query=[item], keys=[hist], units=[8])
output click  = sigmoid(mlp([item, cat, age, interest], units=[8]))
"""
FORMATS = ["parquet", "csv"]
MISSING_HINT = ("fix the data, or set `missing: fill` in the run config to use the training mean (or the OOV "
                "bucket); fills are counted in the report")


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "m.rec"
    path.write_text(SPEC, encoding="utf-8")
    return recdsl.typecheck(path)


@pytest.fixture(scope="module")
def schema(spec):
    return schema_of(spec)


def base(n: int = 4) -> dict:
    """n clean rows: item i+1, cat a/b, age 1.5*i, hist of i+1 items, click i % 2."""
    return {"item": [i + 1 for i in range(n)],
            "cat": ["a" if i % 2 else "b" for i in range(n)],
            "age": [1.5 * i for i in range(n)],
            "hist": [[10 + j for j in range(i % 3 + 1)] for i in range(n)],
            "click": [i % 2 for i in range(n)]}


def cell(value, sep: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return sep.join(cell(v, sep) for v in value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)  # nan, inf, -inf
    return str(value)


def write(tmp_path, fmt: str, data: dict, name: str = "data", sep: str = "^", types: dict | None = None):
    """Write columns of python values as Parquet (pyarrow's inferred types unless `types`) or
    as CSV (lists joined by `sep`, None as an empty cell)."""
    if fmt == "parquet":
        path = tmp_path / f"{name}.parquet"
        types = types or {}
        pq.write_table(pa.table({k: pa.array(v, type=types.get(k)) for k, v in data.items()}), path)
        return path
    path = tmp_path / f"{name}.csv"
    names = list(data)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(names)
        for row in zip(*(data[k] for k in names)):
            out.writerow([cell(v, sep) for v in row])
    return path


def load(path, schema, missing="error", chunk_rows=65_536, fixes=None):
    """(concatenated arrays, chunks, fix log) of reading path."""
    fixes = fixes if fixes is not None else FixLog("train")
    chunks = list(read(path, schema, fixes, missing=missing, chunk_rows=chunk_rows))
    arrays = {k: np.concatenate([c.arrays[k] for c in chunks]) for k in chunks[0].arrays}
    return arrays, chunks, fixes


def error_of(path, schema, **kw) -> DataError:
    with pytest.raises(DataError) as info:
        load(path, schema, **kw)
    return info.value


def assert_error(err: DataError, path, column, row, message, hint=None):
    assert (err.file, err.column, err.row, err.message) == (str(path), column, row, message)
    if hint is not None:
        assert err.hint == hint
    where = ", ".join([str(path)] + ([f"column {column!r}"] if column else []) + ([f"row {row:,}"] if row else []))
    first = str(err).split("\n")[0]
    assert first == f"{where}: {message}"
    assert str(err) == err.render()
    if err.hint:
        assert str(err).endswith(f"\n  hint: {err.hint}")


# --- a clean file -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_clean_file_reads_every_value(tmp_path, schema, fmt):
    path = write(tmp_path, fmt, base(4))
    arrays, chunks, fixes = load(path, schema)
    assert [(c.file, c.first_row, c.rows) for c in chunks] == [(str(path), 1, 4)]
    as_text = (lambda xs: [str(x) for x in xs]) if fmt == "csv" else list  # CSV values stay text
    assert arrays["item"].tolist() == as_text([1, 2, 3, 4])
    assert arrays["cat"].tolist() == ["b", "a", "b", "a"]
    assert arrays["age"].shape == (4, 1) and arrays["age"][:, 0].tolist() == [0.0, 1.5, 3.0, 4.5]
    assert arrays["hist#len"].tolist() == [1, 2, 3, 1]
    assert arrays["label:click"].dtype == np.float32 and arrays["label:click"].tolist() == [0, 1, 0, 1]
    assert not arrays["cat#missing"].any() and not arrays["item#missing"].any()
    assert fixes.rows() == []


# --- missing columns ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_column_suggests_a_close_name(tmp_path, schema, fmt):
    data = base()
    data["cats"] = data.pop("cat")
    path = write(tmp_path, fmt, data)
    err = error_of(path, schema)
    assert_error(err, path, None, None, "column 'cat' is missing", "did you mean `cats`?")


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_column_without_a_close_name_lists_the_columns(tmp_path, schema, fmt):
    data = base()
    data["zzz"] = data.pop("age")
    path = write(tmp_path, fmt, data)
    err = error_of(path, schema)
    assert_error(err, path, None, None, "column 'age' is missing",
                 "the file has item, cat, hist, click, zzz; map feature names to columns with `columns:` "
                 "in the run config")


def test_missing_label_column_is_an_error_but_not_when_labels_are_skipped(tmp_path, schema):
    data = base()
    del data["click"]
    path = write(tmp_path, "parquet", data)
    assert_error(error_of(path, schema), path, None, None, "column 'click' is missing")
    chunks = list(read(path, schema, FixLog(), labels=False))
    assert chunks[0].rows == 4 and not any(k.startswith("label:") for k in chunks[0].arrays)


# --- lists where one value belongs, and the reverse -------------------------------------------

def test_parquet_list_in_a_categorical_column(tmp_path, schema):
    data = base()
    data["cat"] = [["a"], ["b"], ["a", "b"], []]
    path = write(tmp_path, "parquet", data)
    assert_error(error_of(path, schema), path, "cat", None,
                 "holds lists, but the feature takes one value per row",
                 "declare it as multi(...) or sequence(...) in the spec")


def test_parquet_list_in_a_numeric_column(tmp_path, schema):
    data = base()
    data["age"] = [[1.0], [2.0], [3.0, 4.0], [5.0]]
    path = write(tmp_path, "parquet", data)
    assert_error(error_of(path, schema), path, "age", 3, "a row holds 2 values, but age has size=1")


def test_parquet_list_in_the_label_column(tmp_path, schema):
    data = base()
    data["click"] = [[1], [0], [1], [0]]
    path = write(tmp_path, "parquet", data)
    assert_error(error_of(path, schema), path, "click", None,
                 "holds lists, but the column takes one number per row")


def test_parquet_single_values_in_a_sequence_column(tmp_path, schema):
    data = base()
    data["hist"] = [10, 11, 12, 13]
    path = write(tmp_path, "parquet", data)
    assert_error(error_of(path, schema), path, "hist", None, "holds single int64 values, but hist is a sequence",
                 "write lists (Parquet list columns, or CSV cells joined by '^')")


def test_csv_list_cell_in_a_numeric_column_is_non_numeric_text(tmp_path, schema):
    data = base()
    data["age"] = [1.0, 2.0, [3.0, 4.0], 5.0]
    path = write(tmp_path, "csv", data)
    assert_error(error_of(path, schema), path, "age", 3, "non-numeric text '3.0^4.0' in a numeric column",
                 "clean the column, or declare the feature category(...)")


def test_csv_single_value_in_a_sequence_cell_is_a_list_of_one(tmp_path, schema):
    data = base(2)
    data["hist"] = [7, [8, 9]]
    arrays, _, _ = load(write(tmp_path, "csv", data), schema)
    assert arrays["hist"].tolist() == [["7", "", ""], ["8", "9", ""]]
    assert arrays["hist#len"].tolist() == [1, 2]


# --- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_text_in_a_numeric_column(tmp_path, schema, fmt):
    data = base()
    data["age"] = ["1.5", "2", "abc", "4"]
    path = write(tmp_path, fmt, data, types={"age": pa.string()})
    assert_error(error_of(path, schema), path, "age", 3, "non-numeric text 'abc' in a numeric column",
                 "clean the column, or declare the feature category(...)")


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_python_would_parse_but_arrow_does_not_names_its_row(tmp_path, schema, fmt):
    data = base()
    data["age"] = ["1.5", "2", "3", "1_000"]
    path = write(tmp_path, fmt, data, types={"age": pa.string()})
    assert_error(error_of(path, schema), path, "age", 4, "non-numeric text '1_000' in a numeric column")


@pytest.mark.parametrize("fmt", FORMATS)
def test_numbers_with_surrounding_spaces_are_numbers(tmp_path, schema, fmt):
    data = base()
    data["age"] = [" 1.5", "2 ", " -3e1 ", "+4"]
    data["click"] = [" 1", "0 ", "1", "0"]
    path = write(tmp_path, fmt, data, types={"age": pa.string(), "click": pa.string()})
    arrays, _, _ = load(path, schema)
    assert arrays["age"][:, 0].tolist() == [1.5, 2.0, -30.0, 4.0]
    assert arrays["label:click"].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad", [None, math.nan], ids=["null", "nan"])
def test_missing_number_is_an_error_by_default(tmp_path, schema, fmt, bad):
    data = base(5)
    data["age"][2] = bad
    data["age"][4] = bad
    path = write(tmp_path, fmt, data)
    assert_error(error_of(path, schema), path, "age", 3, "missing value (null/NaN) in a numeric feature",
                 MISSING_HINT)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad", [None, math.nan], ids=["null", "nan"])
def test_missing_number_with_fill_is_counted_and_left_for_the_preprocessing(tmp_path, schema, fmt, bad):
    data = base(5)
    data["age"][2] = bad
    data["age"][4] = bad
    path = write(tmp_path, fmt, data)
    arrays, chunks, fixes = load(path, schema, missing="fill")
    assert chunks[0].rows == 5  # no row dropped for a feature
    age = arrays["age"][:, 0]
    assert np.isnan(age).tolist() == [False, False, True, False, True]
    assert age[[0, 1, 3]].tolist() == [0.0, 1.5, 4.5]
    assert fixes.rows() == [{"split": "train", "column": "age", "what": "missing -> training mean", "rows": 2,
                             "first": f"{path} row 3"}]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("missing", ["error", "fill"])
@pytest.mark.parametrize("bad", [math.inf, -math.inf], ids=["inf", "-inf"])
def test_infinity_is_always_an_error(tmp_path, schema, fmt, missing, bad):
    data = base()
    data["age"][1] = bad
    path = write(tmp_path, fmt, data)
    assert_error(error_of(path, schema, missing=missing), path, "age", 2, f"{bad} is not a finite number",
                 "infinite values usually come from a division by zero upstream; fix or clip them")


# --- labels ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_null_label_is_an_error(tmp_path, schema, fmt):
    data = base()
    data["click"][3] = None
    path = write(tmp_path, fmt, data)
    assert_error(error_of(path, schema), path, "click", 4, "the label is missing (null/NaN)",
                 "fix the data, or set `missing: fill` in the run config to drop rows without a label "
                 "(they are counted in the report)")


@pytest.mark.parametrize("fmt", FORMATS)
def test_null_label_with_fill_drops_the_row_and_counts_it(tmp_path, schema, fmt):
    data = base(5)
    data["click"] = [1, None, 0, None, 1]
    path = write(tmp_path, fmt, data)
    arrays, chunks, fixes = load(path, schema, missing="fill")
    assert chunks[0].rows == 3
    assert all(len(v) == 3 for v in arrays.values())
    kept = [0, 2, 4]  # every column keeps the same rows
    assert arrays["label:click"].tolist() == [1, 0, 1]
    assert arrays["age"][:, 0].tolist() == [data["age"][i] for i in kept]
    assert arrays["cat"].tolist() == [data["cat"][i] for i in kept]
    assert arrays["hist#len"].tolist() == [len(data["hist"][i]) for i in kept]
    assert fixes.rows() == [{"split": "train", "column": "click", "what": "null label -> row dropped", "rows": 2,
                             "first": f"{path} row 2"}]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("missing", ["error", "fill"])
def test_label_out_of_range_for_a_sigmoid(tmp_path, schema, fmt, missing):
    data = base()
    data["click"] = [0, 1, 3, 0]
    path = write(tmp_path, fmt, data)
    assert_error(error_of(path, schema, missing=missing), path, "click", 3, "label 3 is not in [0, 1]",
                 "a sigmoid output needs 0/1 labels (or probabilities); make a 0/1 column, e.g. rating >= 4")


@pytest.mark.parametrize("fmt", FORMATS)
def test_probability_labels_are_accepted(tmp_path, schema, fmt):
    data = base()
    data["click"] = [0.0, 0.25, 1.0, 0.5]
    arrays, _, _ = load(write(tmp_path, fmt, data), schema)
    assert arrays["label:click"].tolist() == [0.0, 0.25, 1.0, 0.5]


# --- lists ------------------------------------------------------------------------------------------

def test_parquet_null_inside_a_list(tmp_path, schema):
    data = base(4)
    data["hist"] = [[1, 2], [], [3, None, 4], [None]]
    path = write(tmp_path, "parquet", data)
    assert_error(error_of(path, schema), path, "hist", 3, "a list holds a null value",
                 "drop nulls from the lists before training")


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_value_inside_a_list(tmp_path, schema, fmt):
    """An empty value in a list is the CSV form of a null ("1^^3"): an error in both formats."""
    data = base(4)
    data["hist"] = [["1", "2"], [], ["3", "", "4"], ["5"]]
    path = write(tmp_path, fmt, data)
    assert_error(error_of(path, schema), path, "hist", 3, "a list holds an empty value",
                 "drop empty values from the lists (in a CSV cell, a doubled or trailing '^' makes one)")


def test_csv_trailing_separator_is_an_empty_value(tmp_path, schema):
    path = tmp_path / "t.csv"
    path.write_text("item,cat,age,hist,click\n1,a,1,7^8,1\n2,a,1,7^8^,0\n")
    assert_error(error_of(path, schema), path, "hist", 2, "a list holds an empty value")


HIST = [[1, 2, 3, 4, 5], [], [7], [8, 9, 10], [11, 12, 13, 14], None]
# newest max_len=3 values, oldest first, padded at the end
HIST_PADDED = [[3, 4, 5], [0, 0, 0], [7, 0, 0], [8, 9, 10], [12, 13, 14], [0, 0, 0]]
HIST_LEN = [3, 0, 1, 3, 3, 0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_long_lists_keep_their_newest_values(tmp_path, schema, fmt):
    data = base(6)
    data["hist"] = HIST
    path = write(tmp_path, fmt, data)
    arrays, _, fixes = load(path, schema)
    if fmt == "parquet":
        assert arrays["hist"].dtype == np.int64
        assert arrays["hist"].tolist() == HIST_PADDED
    else:  # CSV lists are text, padded with ""
        assert arrays["hist"].tolist() == [[str(v) if v else "" for v in row] for row in HIST_PADDED]
    assert arrays["hist#len"].dtype == np.int32 and arrays["hist#len"].tolist() == HIST_LEN
    assert fixes.rows() == [{"split": "train", "column": "hist", "what": "longer than 3 -> newest 3 kept",
                             "rows": 2, "first": f"{path} row 1"}]


def test_parquet_string_lists_and_float_coded_lists(tmp_path, schema):
    data = base(3)
    data["hist"] = [["x", "y", "z", "w"], [], ["q"]]
    arrays, _, _ = load(write(tmp_path, "parquet", data, name="s"), schema)
    assert arrays["hist"].tolist() == [["y", "z", "w"], ["", "", ""], ["q", "", ""]]
    data["hist"] = [[1.0, 2.0], [], [3.0]]
    arrays, _, _ = load(write(tmp_path, "parquet", data, name="f"), schema)
    assert arrays["hist"].dtype == np.int64 and arrays["hist"].tolist() == [[1, 2, 0], [0, 0, 0], [3, 0, 0]]
    data["hist"] = [[1.0, 2.5], [], [3.0]]
    path = write(tmp_path, "parquet", data, name="g")
    assert_error(error_of(path, schema), path, "hist", 1,
                 "a list holds the number 2.5; categorical lists hold integers or text")


SEP_SPEC = SPEC.replace("max_len=3)", 'max_len=3, sep=";")')


@pytest.fixture(scope="module")
def sep_spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("sep") / "sep.rec"
    path.write_text(SEP_SPEC, encoding="utf-8")
    return recdsl.typecheck(path)


def test_csv_separator_from_the_spec(tmp_path, sep_spec):
    schema = schema_of(sep_spec)
    assert schema.column("hist").sep == ";"
    data = base(2)
    data["hist"] = [[1, 2], [3, 4, 5, 6]]
    arrays, _, _ = load(write(tmp_path, "csv", data, sep=";"), schema)
    assert arrays["hist"].tolist() == [["1", "2", ""], ["4", "5", "6"]]
    # the default separator is no longer special: "1^2" is one value
    arrays, _, _ = load(write(tmp_path, "csv", data, name="caret", sep="^"), schema)
    assert arrays["hist"].tolist() == [["1^2", "", ""], ["3^4^5^6", "", ""]]


def test_csv_separator_from_the_run_config_overrides_the_spec(tmp_path, sep_spec):
    schema = schema_of(sep_spec, separators={"hist": "|"})
    assert schema.column("hist").sep == "|"
    data = base(2)
    data["hist"] = [[1, 2], [3, 4, 5, 6]]
    arrays, _, _ = load(write(tmp_path, "csv", data, sep="|"), schema)
    assert arrays["hist"].tolist() == [["1", "2", ""], ["4", "5", "6"]]
    assert arrays["hist#len"].tolist() == [2, 3]


# --- missing categorical values --------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_null_or_empty_categorical_sets_the_missing_flag(tmp_path, schema, fmt):
    data = base(5)
    data["cat"] = ["a", None, "", "b", None]
    data["item"] = [1, None, 3, None, 5]
    path = write(tmp_path, fmt, data)
    arrays, _, fixes = load(path, schema)
    assert arrays["cat#missing"].tolist() == [False, True, True, False, True]
    assert arrays["item#missing"].tolist() == [False, True, False, True, False]
    assert [arrays["cat"][i] for i in (0, 3)] == ["a", "b"]
    got = {(f["column"], f["what"]): (f["rows"], f["first"]) for f in fixes.rows()}
    assert got == {("cat", "null or empty -> OOV row"): (3, f"{path} row 2"),
                   ("item", "null or empty -> OOV row"): (2, f"{path} row 2")}


def test_parquet_float_coded_categorical(tmp_path, schema):
    data = base(3)
    data["item"] = [1.0, math.nan, 3.0]
    arrays, _, _ = load(write(tmp_path, "parquet", data), schema)
    assert arrays["item"].dtype == np.int64 and arrays["item"][[0, 2]].tolist() == [1, 3]
    assert arrays["item#missing"].tolist() == [False, True, False]
    data["item"] = [1.0, 2.5, 3.0]
    path = write(tmp_path, "parquet", data, name="frac")
    err = error_of(path, schema)
    assert (err.column, err.row) == ("item", 2) and err.message.startswith("holds the number 2.5")


# --- rows across chunks ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_rows_are_numbered_across_chunks(tmp_path, schema, fmt):
    data = base(10)
    data["hist"][4] = [1, 2, 3, 4]
    data["hist"][8] = [5, 6, 7, 8, 9]
    path = write(tmp_path, fmt, data)
    arrays, chunks, fixes = load(path, schema, chunk_rows=3)
    assert [(c.first_row, c.rows) for c in chunks] == [(1, 3), (4, 3), (7, 3), (10, 1)]
    assert arrays["age"][:, 0].tolist() == data["age"]
    assert fixes.rows()[0]["rows"] == 2 and fixes.rows()[0]["first"] == f"{path} row 5"
    data["age"] = [str(a) for a in data["age"]]
    data["age"][7] = "oops"
    bad = write(tmp_path, fmt, data, name="bad", types={"age": pa.string()})
    assert_error(error_of(bad, schema, chunk_rows=3), bad, "age", 8, "non-numeric text 'oops' in a numeric column")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("rule", ["nan", "label", "null_in_list", "inf"])
def test_each_rule_names_row_8_of_10_in_chunks_of_3(tmp_path, schema, fmt, rule):
    data = base(10)
    if rule == "nan":
        data["age"][7] = math.nan
    elif rule == "label":
        data["click"][7] = 2
    elif rule == "inf":
        data["age"][7] = math.inf
    else:
        data["hist"][7] = [1, None, 2] if fmt == "parquet" else ["1", "", "2"]
    path = write(tmp_path, fmt, data)
    err = error_of(path, schema, chunk_rows=3)
    assert (err.file, err.row) == (str(path), 8)
    assert ", row 8: " in str(err)


def test_row_numbers_have_thousands_separators(tmp_path, schema):
    data = base(1200)
    data["age"][1099] = math.nan
    path = write(tmp_path, "parquet", data)
    err = error_of(path, schema, chunk_rows=500)
    assert err.row == 1100
    assert str(err).startswith(f"{path}, column 'age', row 1,100: missing value")


# --- files ------------------------------------------------------------------------------------------

def test_directory_and_glob_resolution(tmp_path, schema):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "sub").mkdir()
    b = write(folder, "parquet", base(2), name="b")
    a = write(folder, "csv", base(3), name="a")
    (folder / "notes.txt").write_text("not data")
    (folder / "_SUCCESS").write_text("")
    assert resolve(folder) == [a, b]
    assert resolve(str(folder / "*.parquet")) == [b]
    assert resolve([str(folder / "b.*"), a]) == [b, a]
    chunks = list(read(folder, schema, FixLog()))
    assert [(c.file, c.first_row, c.rows) for c in chunks] == [(str(a), 1, 3), (str(b), 1, 2)]


def test_glob_without_match_and_empty_directory(tmp_path):
    with pytest.raises(DataError) as info:
        resolve(str(tmp_path / "*.parquet"))
    assert info.value.message == f"no file matches {str(tmp_path / '*.parquet')!r}"
    assert info.value.hint == "check the pattern and the working directory"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("x")
    with pytest.raises(DataError) as info:
        resolve(empty)
    assert info.value.message == f"directory {str(empty)!r} holds no .parquet or .csv file"


@pytest.mark.parametrize("name", ["data.json", "data.json.gz", "data.gz", "data"])
def test_unknown_file_suffix(tmp_path, name):
    path = tmp_path / name
    path.write_text("{}")
    with pytest.raises(DataError) as info:
        resolve(path)
    suffix = "." + name.rsplit(".", 1)[1] if "." in name else ""
    assert info.value.message == f"{path}: unknown data format {suffix!r}"
    assert info.value.hint == "recdsl reads .parquet and .csv (optionally .csv.gz) files"


def test_a_glob_that_matches_a_non_data_file_is_an_error(tmp_path):
    write(tmp_path, "parquet", base(2), name="a")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataError, match=r"unknown data format '\.txt'"):
        resolve(str(tmp_path / "a.*"))


def test_file_not_found(tmp_path):
    path = tmp_path / "nope.parquet"
    with pytest.raises(DataError) as info:
        resolve(path)
    assert info.value.message == f"data file {str(path)!r} not found"
    assert info.value.hint == "pass a .parquet or .csv file, a directory or a glob"


def test_gzipped_csv_and_tsv(tmp_path, schema):
    data = base(4)
    plain = write(tmp_path, "csv", data)
    expected, _, _ = load(plain, schema)
    text = plain.read_text()
    gz = tmp_path / "data.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    tsv = tmp_path / "data.tsv"
    tsv.write_text(text.replace(",", "\t"))
    tsv_gz = tmp_path / "data2.tsv.gz"
    tsv_gz.write_bytes(gzip.compress(tsv.read_bytes()))
    for path in (gz, tsv, tsv_gz):
        arrays, _, _ = load(path, schema)
        assert arrays.keys() == expected.keys()
        for k in expected:
            np.testing.assert_array_equal(arrays[k], expected[k], err_msg=f"{path.name}: {k}")


def test_a_corrupt_parquet_file_is_a_data_error(tmp_path, schema):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    err = error_of(path, schema)
    assert err.file == str(path) and err.message.startswith("cannot read the file: ")


# --- pad_newest ------------------------------------------------------------------------------------------

def pad_newest_reference(rows: list[list], max_len: int, pad):
    out, lengths = [], []
    for row in rows:
        kept = row[-max_len:] if len(row) > max_len else list(row)
        out.append(kept + [pad] * (max_len - len(kept)))
        lengths.append(len(kept))
    return out, lengths


@pytest.mark.parametrize("seed", range(6))
def test_pad_newest_matches_a_python_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    max_len = int(rng.integers(1, 8))
    rows = [rng.integers(1, 1000, int(rng.integers(0, 12))).tolist() for _ in range(n)]
    lengths = np.array([len(r) for r in rows], dtype="int64")
    flat = np.array([v for r in rows for v in r], dtype="int64")
    padded, kept = pad_newest(flat, lengths, max_len, 0)
    want, want_len = pad_newest_reference(rows, max_len, 0)
    assert padded.shape == (n, max_len) and padded.dtype == np.int64
    assert padded.tolist() == want
    assert kept.dtype == np.int32 and kept.tolist() == want_len
    texts = [[f"v{v}" for v in r] for r in rows]
    padded, kept = pad_newest(np.array([v for r in texts for v in r], dtype=object), lengths, max_len, "")
    want, want_len = pad_newest_reference(texts, max_len, "")
    assert padded.dtype == object and padded.tolist() == want and kept.tolist() == want_len
