"""`recdsl export`: a SavedModel that takes raw feature values, checked against `recdsl predict`
in a fresh TensorFlow-only process, on edge cases (empty and over-long lists, unseen and
missing values, a listed "[UNK]"), on requests it refuses as training refuses such rows
(aligned lists of unequal length, infinities), through the CLI (--show, refusing a non-empty
output), and from a plain `recdsl build` folder. One tiny trained run is shared by the module."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ..cli_call import call

pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.slow,  # trains a model (~5 s), exports, starts a fresh Python once
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]

SPEC = """model tiny "export test"
feature item  : id(buckets=50, dim=4)
feature color : category(vocab=["[UNK]", "red", "green", "blue"], dim=4)
feature level : category(max_tokens=5, dim=4)
feature price : numeric(normalize=standard)
feature tags  : multi(category(vocab=["a", "b", "c", "d"], dim=4), max_len=3)
feature hist  : sequence(of=item, max_len=4)
feature hcolor : sequence(of=color, max_len=4)
pool tv = avg(tags)
pool interest = din(query=[item, color], keys=[hist, hcolor], units=[8])
output click = sigmoid(mlp([item, color, level, price, tv, interest], units=[8]))
"""
ITEMS = [f"i{k}" for k in range(20)]
FEATURES = {"item": "string", "color": "string", "level": "int64", "price": "float32",
            "tags": "string", "tags_lengths": "int64", "hist": "string", "hist_lengths": "int64",
            "hcolor": "string", "hcolor_lengths": "int64"}
COLORS = ["red", "green", "blue", "[UNK]"]  # "[UNK]" is a listed value with its own row

# Loads the SavedModel with TensorFlow only and scores the feed (an .npz of raw inputs).
SERVE_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
assert "recdsl" not in sys.modules, "recdsl was imported"
fn = loaded.signatures["serving_default"]
feed = {k: tf.constant(v) for k, v in np.load(sys.argv[2]).items()}
np.save(sys.argv[3], fn(**feed)["click"].numpy())
print("keras imported by tensorflow:", "keras" in sys.modules)
"""


def click_log(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    color = rng.choice(COLORS + [""], n)  # "" is a missing value
    item = rng.choice(ITEMS + [""], n)
    price = rng.normal(10.0, 3.0, n)
    price[rng.random(n) < 0.05] = np.nan  # missing: fill -> the training mean
    hist = [rng.choice(ITEMS, k).tolist() for k in rng.integers(0, 8, n)]     # > max_len sometimes
    return pa.table({
        "item": item, "color": color, "level": rng.integers(0, 9, n),  # 9 values, max_tokens=5: some OOV
        "price": price,
        "tags": [rng.choice(list("abcde"), k).tolist() for k in rng.integers(0, 6, n)],   # "e" unseen; > max_len
        "hist": hist, "hcolor": [rng.choice(COLORS, len(h)).tolist() for h in hist],  # aligned with hist
        "click": (rng.random(n) < np.where(color == "red", 0.8, 0.2)).astype("int64"),
    })


def feed_of(rows: dict) -> dict:
    """Raw serving inputs (numpy) from columns of python values: list columns become flat
    values + row lengths."""
    out = {}
    for name in ("item", "color"):
        out[name] = np.asarray(rows[name], dtype=str)
    out["level"] = np.asarray(rows["level"], dtype="int64")
    out["price"] = np.asarray(rows["price"], dtype="float32")
    for name in ("tags", "hist", "hcolor"):
        lists = rows[name]
        out[name] = np.asarray([v for lst in lists for v in lst], dtype=str)
        out[f"{name}_lengths"] = np.asarray([len(lst) for lst in lists], dtype="int64")
    return out


class Run:
    pass


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    from recdsl.serving.savedmodel import export
    from recdsl.training.config import load_config
    from recdsl.training.fit import train

    r = Run()
    r.dir = tmp_path_factory.mktemp("export")
    r.spec = r.dir / "tiny.rec"
    r.spec.write_text(SPEC, encoding="utf-8")
    r.table = click_log(300, 1)
    r.data = r.dir / "data.parquet"
    pq.write_table(r.table, r.data)
    r.out = r.dir / "run"
    train(r.spec, r.data, out=r.out, config=load_config(None, {"epochs": 1, "batch_size": 64, "missing": "fill"}),
          verbose=0, log=None)
    r.saved = export(r.out, r.dir / "saved" / "1")
    return r


def predict_scores(run: Run, table: pa.Table, name: str) -> np.ndarray:
    from recdsl.training.scoring import predict

    path = run.dir / f"{name}.parquet"
    pq.write_table(table, path)
    out, _ = predict(run.out, path, run.dir / f"{name}_scores.parquet", force=True)
    return pq.read_table(out)["click"].to_numpy()


def test_fresh_tensorflow_process_matches_predict(run):
    assert (run.saved / "saved_model.pb").is_file()
    feed = run.dir / "feed.npz"
    np.savez(feed, **feed_of(run.table.to_pydict()))
    scores = run.dir / "served.npy"
    done = subprocess.run([sys.executable, "-c", SERVE_SCRIPT, str(run.saved), str(feed), str(scores)],
                          capture_output=True, text=True, cwd=run.dir, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    served = np.load(scores)
    expected = predict_scores(run, run.table, "same")
    assert served.shape == expected.shape == (300,)
    assert np.isfinite(served).all()
    assert np.max(np.abs(served - expected)) < 1e-5


def test_edge_cases(run):
    import tensorflow as tf

    vocab = json.loads((run.out / "preprocessing.json").read_text())["tables"]["level"]["vocabulary"]
    seen = int(vocab[0])
    long_tags, long_hist = ["a", "b", "c", "d", "a", "c"], ITEMS[:9]  # max_len 3 and 4
    long_hcolor = (COLORS * 3)[:9]                                   # aligned with long_hist
    base = {"item": "i1", "color": "red", "level": seen, "price": 10.0}
    rows = [
        {**base, "tags": ["a", "b"], "hist": ["i1", "i2"], "hcolor": ["red", "green"]},
        {**base, "tags": [], "hist": [], "hcolor": []},                                    # empty lists
        {**base, "tags": long_tags, "hist": long_hist, "hcolor": long_hcolor},             # longer than max_len
        {**base, "tags": long_tags[-3:], "hist": long_hist[-4:], "hcolor": long_hcolor[-4:]},  # ... cut by hand
        {**base, "tags": long_tags[:3], "hist": long_hist[:4], "hcolor": long_hcolor[:4]},  # the oldest: differs
        {**base, "color": "purple", "level": 10 ** 9, "tags": ["zz"], "hist": ["i3"], "hcolor": ["pink"]},  # unseen
        {**base, "color": "magenta", "level": 77_777, "tags": ["yy"], "hist": ["i3"], "hcolor": ["teal"]},  # others
        {"item": "", "color": "", "level": seen, "price": float("nan"), "tags": [], "hist": [], "hcolor": []},
        {**base, "color": "[UNK]", "level": 10 ** 9, "tags": ["zz"], "hist": ["i3"], "hcolor": ["[UNK]"]},  # listed
    ]
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    feed = feed_of(columns)
    fn = tf.saved_model.load(str(run.saved)).signatures["serving_default"]
    out = fn(**{k: tf.constant(v) for k, v in feed.items()})
    assert set(out) == {"click"} and out["click"].dtype == tf.float32 and out["click"].shape == (len(rows),)
    s = out["click"].numpy()
    assert np.isfinite(s).all()
    assert abs(s[2] - s[3]) < 1e-7          # newest max_len values kept
    assert abs(s[2] - s[4]) > 1e-7          # not the oldest
    assert abs(s[5] - s[6]) < 1e-7          # unseen -> the same OOV rows
    assert abs(s[5] - s[8]) > 1e-7          # "[UNK]" is a listed color, not the OOV row
    # one row alone scores as in the batch
    one = fn(**{k: tf.constant(v) for k, v in feed_of({k: [v[2]] for k, v in columns.items()}).items()})
    assert abs(one["click"].numpy()[0] - s[2]) < 1e-6
    # and the batch scores as `recdsl predict` scores the same rows from a file
    table = pa.table({**{k: pa.array(v) for k, v in columns.items() if k not in ("tags", "hist", "hcolor")},
                      **{k: pa.array(columns[k], pa.list_(pa.string())) for k in ("tags", "hist", "hcolor")},
                      "click": pa.array([0] * len(rows))})
    assert np.max(np.abs(s - predict_scores(run, table, "edge"))) < 1e-5


def test_lengths_must_match_the_values(run):
    import tensorflow as tf

    fn = tf.saved_model.load(str(run.saved)).signatures["serving_default"]
    feed = feed_of({"item": ["i1"], "color": ["red"], "level": [1], "price": [1.0], "tags": [["a"]], "hist": [[]],
                    "hcolor": [[]]})
    feed["tags_lengths"] = np.asarray([2], dtype="int64")  # says 2 values, gives 1
    with pytest.raises(tf.errors.InvalidArgumentError):
        fn(**{k: tf.constant(v) for k, v in feed.items()})


def serve_one(run, **changes):
    """Scores of two ordinary rows with `changes` (columns of two values) applied."""
    import tensorflow as tf

    fn = tf.saved_model.load(str(run.saved)).signatures["serving_default"]
    rows = {"item": ["i1", "i2"], "color": ["red", "blue"], "level": [1, 2], "price": [10.0, 12.0],
            "tags": [["a"], ["b", "c"]], "hist": [["i1", "i2"], ["i3"]], "hcolor": [["red", "blue"], ["green"]]}
    feed = feed_of({**rows, **changes})
    return fn(**{k: tf.constant(v) for k, v in feed.items()})["click"].numpy()


def test_aligned_lists_must_have_equal_lengths(run):
    """hist and hcolor are the keys of one din pool: the i-th color belongs to the i-th item.
    Lists of unequal length fail the request, as they stop training (tests/data/test_bad_files.py);
    equal ones longer than max_len are cut alike."""
    import tensorflow as tf

    assert np.isfinite(serve_one(run, hist=[ITEMS[:6], []], hcolor=[COLORS[:3] * 2, []])).all()
    for hcolor in ([["red"], ["green"]], [["red", "blue"], []], [["red", "blue"], ["green", "red"]]):
        with pytest.raises(tf.errors.InvalidArgumentError, match="hcolor_lengths must equal hist_lengths"):
            serve_one(run, hcolor=hcolor)
    from recdsl.serving.signature import describe

    rows = {r["name"]: r["meaning"] for r in describe(run.out)}
    assert rows["hcolor_lengths"].endswith("; must equal hist_lengths (keys of `interest`)")


@pytest.mark.parametrize("bad", [float("inf"), float("-inf")])
def test_an_infinite_number_fails_the_request(run, bad):
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError, match="numeric input `price` holds an infinite value") as info:
        serve_one(run, price=[10.0, bad])
    assert "First such row (0-based):] [1]" in str(info.value)


def test_nan_is_a_missing_number_scored_at_the_training_mean(run):
    mean = json.loads((run.out / "preprocessing.json").read_text())["numeric"]["price"]["mean"][0]
    nan, at_mean = serve_one(run, price=[float("nan"), 12.0]), serve_one(run, price=[mean, 12.0])
    assert np.isfinite(nan).all() and np.max(np.abs(nan - at_mean)) < 1e-6


def test_show_lists_every_input_and_writes_nothing(run):
    before = sorted(p.name for p in run.out.iterdir())
    code, out, err = call(["export", run.out, "--show"])
    assert code == 0, err
    for name, dtype in FEATURES.items():
        assert re.search(rf"^input\s+{name}\s+{dtype}\s+\[[BN]\]", out, re.M), (name, out)
    assert re.search(r"^output\s+click\s+float32\s+\[B\]", out, re.M), out
    assert "raw feature values" in out
    assert sorted(p.name for p in run.out.iterdir()) == before

    from recdsl.serving.signature import describe

    rows = describe(run.out)
    assert {r["name"]: r["dtype"] for r in rows if r["role"] == "input"} == FEATURES
    # the SavedModel's signature is the one described
    saved = json.loads((run.saved / "assets.extra" / "recdsl_signature.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(rows))


def test_refuses_a_non_empty_output_without_force(run):
    target = run.dir / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    code, out, err = call(["export", run.out, "-o", target])
    assert code == 2
    assert "is not empty" in err and "--force" in err and "Traceback" not in err
    assert (target / "keep.txt").read_text() == "mine"
    code, out, err = call(["export", run.out, "-o", target, "--force"])
    assert code == 0, err
    assert (target / "saved_model.pb").is_file() and not (target / "keep.txt").exists()
    assert f"-> {target}" in out and "raw feature values" in out
    # never over the folder being exported
    code, _, err = call(["export", run.out, "-o", run.out, "--force"])
    assert code == 1 and "would replace" in err and (run.out / "model.keras").is_file()
    # a folder that is no run
    code, _, err = call(["export", run.dir / "nowhere"])
    assert code == 1 and "not a folder" in err


def test_default_output_is_inside_the_run(run):
    code, out, err = call(["export", run.out])
    assert code == 0, err
    assert (run.out / "serving" / "1" / "saved_model.pb").is_file()


def test_export_of_a_build_folder_takes_preprocessed_inputs(run):
    import keras
    import tensorflow as tf

    build = run.dir / "build"
    code, _, err = call(["build", run.spec, "-o", build])
    assert code == 0, err
    code, shown, err = call(["export", build, "--show"])
    assert code == 0 and "PREPROCESSED" in shown
    code, out, err = call(["export", build, "-o", run.dir / "build_saved"])
    assert code == 0, err
    assert "PREPROCESSED" in out and "recdsl build" in out
    fn = tf.saved_model.load(str(run.dir / "build_saved")).signatures["serving_default"]
    _, specs = fn.structured_input_signature
    assert {k: (v.dtype.name, v.shape.as_list()) for k, v in specs.items()} == {
        "item": ("int32", [None]), "color": ("int32", [None]), "level": ("int32", [None]),
        "price": ("float32", [None, 1]), "tags": ("int32", [None, 3]), "hist": ("int32", [None, 4]),
        "hcolor": ("int32", [None, 4])}
    inputs = {"item": np.array([2, 7], "int32"), "color": np.array([1, 3], "int32"),
              "level": np.array([0, 4], "int32"), "price": np.array([[0.5], [-1.0]], "float32"),
              "tags": np.array([[2, 3, 0], [0, 0, 0]], "int32"),
              "hist": np.array([[5, 6, 7, 0], [9, 0, 0, 0]], "int32"),
              "hcolor": np.array([[2, 3, 4, 0], [5, 0, 0, 0]], "int32")}
    served = fn(**{k: tf.constant(v) for k, v in inputs.items()})["click"].numpy()
    from recdsl.serving.savedmodel import register_layers

    register_layers()
    model = keras.saving.load_model(build / "model.keras", compile=False)
    expected = np.asarray(model.predict(inputs, verbose=0)["click"]).reshape(-1)
    assert served.shape == (2,) and np.max(np.abs(served - expected)) < 1e-6
