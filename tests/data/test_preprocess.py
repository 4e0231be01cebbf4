"""Raw values -> model inputs (recdsl.data.preprocess + pipeline), checked against references
computed here: vocabulary rows, hashing (keras.layers.Hashing and TensorFlow's farmhash of the
decimal string), learned vocabularies, normalisation with numpy statistics, buckets with
np.searchsorted; CSV/Parquet parity; save/load; the streamed tf.data path against the cached one."""
from __future__ import annotations

import csv
import json
import math
from collections import Counter

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
keras = pytest.importorskip("keras")

SPEC = """model p
feature uid   : id(buckets=1000, dim=4)
feature item  : id(buckets=97, dim=4)
feature color : category(vocab=["red", "green", "blue"], dim=4)
feature level : category(size=5, dim=4)
feature tag   : category(max_tokens=3, dim=4)
feature x_std : numeric(normalize=standard)
feature x_mm  : numeric(normalize=minmax)
feature x_log : numeric(normalize=log)
feature x_raw : numeric()
feature x_bkt : numeric(boundaries=[0.0, 1.0, 2.5], dim=4)
feature tags  : multi(of=tag, max_len=4)
feature hist  : sequence(of=item, max_len=3)
pool tv = avg(tags)
pool hv = avg(hist)
output y = sigmoid(mlp([uid, item, color, level, tag, x_std, x_mm, x_log, x_raw, x_bkt, tv, hv], units=[4]))
"""
VOCAB = ["red", "green", "blue"]
LEVELS = 5
BOUNDARIES = [0.0, 1.0, 2.5]
TAGS = ["a", "b", "c", "d", "e", "f"]


def generate(n: int, seed: int, unseen: bool = False) -> dict:
    """Columns of python values; x_raw is a unique row key. Tag lists are never longer than
    max_len (so the learned vocabulary does not depend on truncation)."""
    rng = np.random.default_rng(seed)
    colors = VOCAB + ["", None] + (["purple"] if unseen else [])
    tags = TAGS + (["zzz"] if unseen else [])
    levels = list(range(LEVELS)) + [None] + ([7, -1] if unseen else [])
    x_std = rng.normal(50.0, 10.0, n)
    x_std[rng.random(n) < 0.15] = math.nan
    x_bkt = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0, 2.5, 3.0, math.nan], n)
    return {
        "uid": rng.integers(0, 10_000, n).tolist(),
        "item": rng.integers(1, 40, n).tolist(),
        "color": [colors[i] for i in rng.integers(0, len(colors), n)],
        "level": [levels[i] for i in rng.integers(0, len(levels), n)],
        "tag": [tags[i] if i < len(tags) else None for i in rng.integers(0, len(tags) + 1, n)],
        "x_std": [None if i % 7 == 3 else float(v) for i, v in enumerate(x_std)],  # null and NaN
        "x_mm": rng.uniform(-5.0, 20.0, n).tolist(),
        "x_log": rng.choice([-3.0, 0.0, 0.5, 2.0, 10.0, 1000.0], n).tolist(),
        "x_raw": [float(i + seed * 1000) for i in range(n)],
        "x_bkt": [float(v) for v in x_bkt],
        "tags": [[tags[j] for j in rng.integers(0, len(tags), rng.integers(0, 5))] for _ in range(n)],
        "hist": [rng.integers(1, 40, rng.integers(0, 7)).tolist() for _ in range(n)],
        "y": rng.integers(0, 2, n).tolist(),
    }


def write_parquet(path, data: dict):
    pq.write_table(pa.table({k: pa.array(v, type=pa.float64() if k.startswith("x_") else None)
                             for k, v in data.items()}), path)
    return path


def write_csv(path, data: dict, sep: str = "^"):
    def cell(v):
        if v is None:
            return ""
        if isinstance(v, list):
            return sep.join(map(str, v))
        return repr(v) if isinstance(v, float) else str(v)

    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(list(data))
        for row in zip(*data.values()):
            out.writerow([cell(v) for v in row])
    return path


class World:
    """One fitted preprocessor and its loaded splits, shared by the tests of this module."""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World()
    w.dir = tmp_path_factory.mktemp("pre")
    (w.dir / "p.rec").write_text(SPEC, encoding="utf-8")
    w.spec = recdsl.typecheck(w.dir / "p.rec")
    w.schema = schema_of(w.spec)
    w.train, w.valid = generate(60, seed=1), generate(40, seed=2, unseen=True)
    w.train_pq = write_parquet(w.dir / "train.parquet", w.train)
    w.valid_pq = write_parquet(w.dir / "valid.parquet", w.valid)
    w.train_csv = write_csv(w.dir / "train.csv", w.train)
    w.valid_csv = write_csv(w.dir / "valid.csv", w.valid)
    # chunks of 7 rows: statistics and counts must add up across chunks
    w.pre = Preprocessor.fit(read(w.train_pq, w.schema, FixLog(), missing="fill", chunk_rows=7), w.schema)
    w.tr = Split("train", w.train_pq, w.pre, missing="fill").load()
    w.va = Split("valid", w.valid_pq, w.pre, missing="fill").load()
    return w


def split_of(w: World, name: str):
    return (w.train, w.tr) if name == "train" else (w.valid, w.va)


def hashed(values, buckets: int) -> np.ndarray:
    return np.asarray(keras.layers.Hashing(num_bins=buckets)(np.asarray(values))) + 2


def learned_vocabulary(w: World) -> list[str]:
    """The 3 most frequent tag values over `tag` and `tags`, ties broken by value."""
    counts = Counter(v for v in w.train["tag"] if v) + Counter(v for row in w.train["tags"] for v in row)
    return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


def newest(rows, max_len: int):
    return [row[-max_len:] for row in rows]


# --- categorical tables -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["train", "valid"])
def test_vocab_ids_are_index_plus_2_and_unseen_or_missing_is_1(world, name):
    data, split = split_of(world, name)
    want = [VOCAB.index(v) + 2 if v in VOCAB else 1 for v in data["color"]]
    assert split.inputs["color"].dtype == np.int32
    assert split.inputs["color"].tolist() == want
    assert 1 in want and {2, 3, 4} <= set(want)


@pytest.mark.parametrize("name", ["train", "valid"])
def test_size_ids_are_code_plus_2_and_out_of_range_is_1(world, name):
    data, split = split_of(world, name)
    want = [v + 2 if v is not None and 0 <= v < LEVELS else 1 for v in data["level"]]
    assert split.inputs["level"].tolist() == want


@pytest.mark.parametrize("name", ["train", "valid"])
def test_hashed_ids_match_keras_hashing_plus_2(world, name):
    data, split = split_of(world, name)
    want = hashed(np.asarray(data["uid"], dtype="int64"), 1000)
    assert split.inputs["uid"].tolist() == want.tolist()
    assert split.inputs["item"].tolist() == hashed(np.asarray(data["item"], dtype="int64"), 97).tolist()


def test_integers_hash_as_their_decimal_strings(world):
    import tensorflow as tf

    values = np.asarray(world.train["uid"], dtype="int64")
    as_text = np.asarray([str(v) for v in values])
    farmhash = tf.strings.to_hash_bucket_fast(as_text, 1000).numpy() + 2
    assert hashed(values, 1000).tolist() == hashed(as_text, 1000).tolist() == farmhash.tolist()


@pytest.mark.parametrize("name", ["train", "valid"])
def test_a_sequence_shares_its_tables_ids(world, name):
    """hist = sequence(of=item): the newest 3 values, each with the id item's hash gives it,
    padding positions 0."""
    data, split = split_of(world, name)
    rows = newest(data["hist"], 3)
    want = [[int(hashed(np.asarray([v], dtype="int64"), 97)[0]) for v in row] + [0] * (3 - len(row))
            for row in rows]
    assert split.inputs["hist"].tolist() == want
    # the same raw value gets the same row in the scalar feature and in the sequence
    scalar = dict(zip(data["item"], split.inputs["item"].tolist()))
    pairs = [(v, i) for row, ids in zip(rows, split.inputs["hist"].tolist()) for v, i in zip(row, ids)]
    shared = [(v, i) for v, i in pairs if v in scalar]
    assert len(shared) > 10 and all(scalar[v] == i for v, i in shared)


def test_learned_vocabulary_is_the_most_frequent_values_of_the_whole_table(world):
    vocab = learned_vocabulary(world)
    assert world.pre.tables["tag"]["vocabulary"] == vocab
    assert world.pre.tables["tag"]["seen"] == len(set(TAGS) & (set(world.train["tag"]) |
                                                                {v for r in world.train["tags"] for v in r}))


@pytest.mark.parametrize("name", ["train", "valid"])
def test_learned_ids_for_the_scalar_and_the_bag(world, name):
    data, split = split_of(world, name)
    vocab = learned_vocabulary(world)
    ids = {v: i + 2 for i, v in enumerate(vocab)}
    assert split.inputs["tag"].tolist() == [ids.get(v, 1) if v else 1 for v in data["tag"]]
    assert split.inputs["tags"].tolist() == [[ids.get(v, 1) for v in row] + [0] * (4 - len(row))
                                             for row in data["tags"]]


LEARN_SPEC = """model v
feature tag  : category(max_tokens=3, dim=4)
feature tags : multi(of=tag, max_len=4)
pool tv = avg(tags)
output y = sigmoid(mlp([tag, tv], units=[4]))
"""


@pytest.fixture(scope="module")
def learn_schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("learn") / "v.rec"
    path.write_text(LEARN_SPEC, encoding="utf-8")
    return schema_of(recdsl.typecheck(path))


def test_learned_vocabulary_hand_made_case(tmp_path, learn_schema):
    """Counts over tag and tags together: c 4 (only in the bag), a 3, b 3, d 3: the top 3 are c,
    then a and b (ties broken by value), and d is out."""
    data = {"tag": ["d", "b", "a", "d", "", None],
            "tags": [["c", "c"], ["a", "c"], ["b", "d"], [], ["c"], ["a", "b"]],
            "y": [1, 0, 1, 0, 1, 0]}
    path = write_parquet(tmp_path / "v.parquet", data)
    pre = Preprocessor.fit(read(path, learn_schema, FixLog()), learn_schema)
    assert pre.tables["tag"] == {"dtype": "string", "vocabulary": ["c", "a", "b"], "seen": 4}
    split = Split("train", path, pre).load()
    assert split.inputs["tag"].tolist() == [1, 4, 3, 1, 1, 1]
    assert split.inputs["tags"].tolist() == [[2, 2, 0, 0], [3, 2, 0, 0], [4, 1, 0, 0], [0, 0, 0, 0],
                                             [2, 0, 0, 0], [3, 4, 0, 0]]
    assert pre.vocabulary_sizes() == {"tag": 3}


def test_learned_integer_vocabulary_is_the_same_from_csv_and_parquet(tmp_path, learn_schema):
    data = {"tag": [9, 10, 100, 9, 10, 100, 7, None],
            "tags": [[100], [9, 10], [], [7, 5], [5], [], [], [10]],
            "y": [1, 0, 1, 0, 1, 0, 1, 0]}
    pre_pq = Preprocessor.fit(read(write_parquet(tmp_path / "i.parquet", data), learn_schema, FixLog()),
                              learn_schema)
    pre_csv = Preprocessor.fit(read(write_csv(tmp_path / "i.csv", data), learn_schema, FixLog()), learn_schema)
    assert pre_pq.tables["tag"]["dtype"] == "int64" and pre_csv.tables["tag"]["dtype"] == "string"
    vocab = pre_pq.tables["tag"]["vocabulary"]
    assert sorted(vocab) == [9, 10, 100]  # counts 9: 3, 10: 4, 100: 3, 7: 2, 5: 2
    assert [str(v) for v in vocab] == pre_csv.tables["tag"]["vocabulary"]
    a = Split("a", tmp_path / "i.parquet", pre_pq).load().inputs
    b = Split("b", tmp_path / "i.csv", pre_csv).load().inputs
    assert a["tag"].tolist() == b["tag"].tolist()
    assert a["tags"].tolist() == b["tags"].tolist()
    assert a["tag"].tolist()[-2:] == [1, 1]  # 7 (out of the top 3) and null


# --- numbers ------------------------------------------------------------------------------------

def train_values(w: World, name: str) -> np.ndarray:
    return np.asarray([math.nan if v is None else v for v in w.train[name]], dtype="float64")


def test_statistics_are_numpys_over_the_non_missing_training_values(world):
    x = train_values(world, "x_std")
    ok = x[~np.isnan(x)]
    stats = world.pre.numerics["x_std"]
    np.testing.assert_allclose(stats["mean"], [np.mean(ok)], rtol=1e-12)
    np.testing.assert_allclose(stats["variance"], [np.var(ok)], rtol=1e-9)  # population variance
    assert stats["count"] == ok.size
    mm = train_values(world, "x_mm")
    assert (world.pre.numerics["x_mm"]["min"], world.pre.numerics["x_mm"]["max"]) == ([mm.min()], [mm.max()])


@pytest.mark.parametrize("name", ["train", "valid"])
def test_standard_normalisation_with_missing_filled_by_0(world, name):
    data, split = split_of(world, name)
    train = train_values(world, "x_std")
    mean, var = np.nanmean(train), np.nanvar(train)
    x = np.asarray([math.nan if v is None else v for v in data["x_std"]])
    want = np.where(np.isnan(x), 0.0, (x - mean) / np.sqrt(var))
    got = split.inputs["x_std"]
    assert got.shape == (len(x), 1) and got.dtype == np.float32
    np.testing.assert_allclose(got[:, 0], want, atol=1e-5, rtol=0)
    assert np.isnan(x).sum() >= 3 and (got[np.isnan(x), 0] == 0.0).all()


@pytest.mark.parametrize("name", ["train", "valid"])
def test_minmax_log_and_none(world, name):
    data, split = split_of(world, name)
    lo, hi = train_values(world, "x_mm").min(), train_values(world, "x_mm").max()
    x = np.asarray(data["x_mm"])
    np.testing.assert_allclose(split.inputs["x_mm"][:, 0], (x - lo) / (hi - lo), atol=1e-5, rtol=0)
    x = np.asarray(data["x_log"])
    np.testing.assert_allclose(split.inputs["x_log"][:, 0], np.log1p(np.maximum(x, 0.0)), atol=1e-5, rtol=0)
    assert (split.inputs["x_log"][x <= 0, 0] == 0).all()
    assert split.inputs["x_raw"][:, 0].tolist() == data["x_raw"]


@pytest.mark.parametrize("name", ["train", "valid"])
def test_buckets_are_searchsorted_plus_2_and_missing_is_1(world, name):
    data, split = split_of(world, name)
    x = np.asarray(data["x_bkt"])
    want = np.where(np.isnan(x), 1, np.searchsorted(BOUNDARIES, x, side="right") + 2)
    assert split.inputs["x_bkt"].dtype == np.int32
    assert split.inputs["x_bkt"].tolist() == want.tolist()
    # every bucket occurs, and values on a boundary go to the bucket above it
    assert set(want.tolist()) == {1, 2, 3, 4, 5}


def test_unseen_values_are_counted_in_the_fix_log(world):
    fixes = {(f["column"], f["what"]): f["rows"] for f in world.va.fixes.rows()}
    unseen_color = sum(v not in VOCAB and v not in ("", None) for v in world.valid["color"])
    unseen_level = sum(v is not None and not 0 <= v < LEVELS for v in world.valid["level"])
    vocab = set(learned_vocabulary(world))
    unseen_bag = sum(any(v not in vocab for v in row) for row in world.valid["tags"])
    assert unseen_color and unseen_level and unseen_bag
    assert fixes[("color", "unseen value -> OOV row")] == unseen_color
    assert fixes[("level", "unseen value -> OOV row")] == unseen_level
    # `tag` learned 3 of the values it saw (max_tokens=3): an OOV in valid may be either kind
    assert fixes[("tags", "unseen in training or beyond max_tokens=3 -> OOV row")] == unseen_bag
    assert fixes[("color", "null or empty -> OOV row")] == sum(v in ("", None) for v in world.valid["color"])
    assert fixes[("x_std", "missing -> training mean")] == sum(v is None or math.isnan(v)
                                                               for v in world.valid["x_std"])
    assert fixes[("x_bkt", "missing -> OOV bucket")] == sum(math.isnan(v) for v in world.valid["x_bkt"])


# --- formats, persistence, streaming -----------------------------------------------------------------

def assert_same_inputs(a: dict, b: dict, float_tol: float = 0.0):
    """Equal keys, dtypes and values (ids exactly; floats within float_tol)."""
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        if float_tol and a[k].dtype.kind == "f":
            np.testing.assert_allclose(a[k], b[k], rtol=0, atol=float_tol, err_msg=k)
        else:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_csv_and_parquet_give_identical_model_inputs(world):
    pre_pq = Preprocessor.fit(read(world.train_pq, world.schema, FixLog(), missing="fill"), world.schema)
    pre_csv = Preprocessor.fit(read(world.train_csv, world.schema, FixLog(), missing="fill"), world.schema)
    assert pre_csv.tables["uid"]["dtype"] == "string" and pre_pq.tables["uid"]["dtype"] == "int64"
    assert pre_csv.numerics == pre_pq.numerics
    for csv_path, pq_path in ((world.train_csv, world.train_pq), (world.valid_csv, world.valid_pq)):
        assert_same_inputs(Split("csv", csv_path, pre_csv, missing="fill").load().inputs,
                           Split("pq", pq_path, pre_pq, missing="fill").load().inputs)
    for path, split in ((world.train_csv, world.tr), (world.valid_csv, world.va)):
        # the preprocessor fitted on Parquet, applied to the CSV form of the same rows
        assert_same_inputs(Split("csv", path, world.pre, missing="fill").load().inputs, split.inputs)


def test_save_and_load_give_identical_transforms(world, tmp_path):
    path = world.pre.save(tmp_path / "preprocessing.json")
    saved = json.loads(path.read_text())
    assert saved["format"] == 1 and saved["tables"]["tag"]["vocabulary"] == learned_vocabulary(world)
    loaded = Preprocessor.load(path)
    assert loaded.schema == world.schema
    assert loaded.tables == world.pre.tables and loaded.numerics == world.pre.numerics
    for data_path, split in ((world.train_pq, world.tr), (world.valid_pq, world.va)):
        again = Split("again", data_path, loaded, missing="fill").load()
        assert_same_inputs(again.inputs, split.inputs)
        np.testing.assert_array_equal(again.targets["y"], split.targets["y"])


def collect(ds):
    xs, ys = {}, []
    for x, y in ds:
        for k, v in x.items():
            xs.setdefault(k, []).append(v.numpy())
        ys.append(y["y"].numpy())
    return {k: np.concatenate(v) for k, v in xs.items()}, np.concatenate(ys)


def by_key(inputs: dict, labels: np.ndarray):
    order = np.argsort(inputs["x_raw"][:, 0])
    return {k: v[order] for k, v in inputs.items()}, labels[order]


@pytest.mark.parametrize("shuffle_buffer", [0, 16])
def test_streamed_dataset_gives_the_cached_rows(world, shuffle_buffer):
    split = Split("valid", world.valid_pq, world.pre, missing="fill")
    x, y = collect(split.dataset(batch_size=7, shuffle_buffer=shuffle_buffer, seed=3))
    assert len(y) == world.va.rows == 40
    want_x, want_y = by_key(world.va.inputs, world.va.targets["y"])
    got_x, got_y = by_key(x, y)
    # the same ops, compiled inside tf.data: floats may differ in the last bit
    assert_same_inputs(got_x, want_x, float_tol=1e-6)
    np.testing.assert_array_equal(got_y, want_y)
    if shuffle_buffer == 0:  # the file's order
        assert x["x_raw"][:, 0].tolist() == world.valid["x_raw"]


def test_labels_and_rows_of_the_cached_split(world):
    assert world.tr.rows == 60
    assert world.tr.targets["y"].shape == (60, 1)
    assert world.tr.targets["y"][:, 0].tolist() == world.train["y"]
    assert world.tr.label_rate == {"y": pytest.approx(np.mean(world.train["y"]))}
