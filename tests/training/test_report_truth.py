"""report.md tells the truth: implausible results are flagged (numbers against a hand-computed
constant-predictor logloss), compile time is apart from steady throughput, the learning-curve
table and curves.png pair train with validation, a streamed run reports its real rows, positive
rate and fixes (counted once, not once per epoch), values cut by max_tokens are called that, the
spec path is not a machine's absolute path, and prediction traces a model's predict function once
whatever the number of rows."""
from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recdsl.training.plausibility import constant_logloss, implausible_results
from recdsl.training.plots import curves_figure
from recdsl.training.report import write_report
from recdsl.training.report_training import epoch_table
from recdsl.training.throughput import throughput, timing_line

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras' numpy 2 copy= notice

SPEC = """model tiny
feature item : id(buckets=50, dim=4)
feature cat  : category(max_tokens=2, dim=4)
output click = sigmoid(mlp([item, cat], units=[8]))
"""


def test_constant_logloss_by_hand():
    assert constant_logloss(0.25) == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    assert constant_logloss(0.0) == 0.0


def test_implausible_results_are_flagged_with_a_cause():
    data = {"train": {"label_rate": {"ctr": 0.3}}, "valid": {"label_rate": {"ctr": 0.25}}}
    flags = implausible_results({"valid": {"ctr": {"auc": 0.47, "logloss": 0.60}},
                                 "test": {"ctr": {"auc": 0.505, "logloss": 0.50}}}, data)
    assert len(flags) == 3
    assert flags[0].startswith("`ctr` on the valid split: AUC 0.4700 is below 0.5")
    assert "label is inverted" in flags[0]
    # 0.60 > H(0.25) = 0.5623 (the valid split's own rate); test has no rate: train's, H(0.3) = 0.6109
    assert flags[1].startswith("`ctr` on the valid split: logloss 0.6000 is worse than 0.5623, that of always "
                               "predicting the positive rate 0.2500")
    assert flags[2].startswith("`ctr` on the test split: AUC 0.5050 is at chance")
    assert implausible_results({"valid": {"ctr": {"auc": 0.78, "logloss": 0.45}}}, data) == []


def test_the_report_flags_them_and_shows_the_spec_name_only(tmp_path):
    path = write_report(tmp_path / "run", spec_name="m", spec_path=tmp_path / "pkg" / "specs" / "din.rec",
                        spec_source="model m\n", data={"valid": {"rows": 10, "label_rate": {"ctr": 0.5}}},
                        metrics={"valid": {"ctr": {"auc": 0.47, "logloss": 0.71}}}, history={}, attention={},
                        timing={}, config={})
    text = path.read_text()
    assert text.count("> **Implausible result:**") == 2
    assert "\n`din.rec`\n" in text and str(tmp_path) not in text


def test_throughput_leaves_out_the_compiling_epochs():
    got = throughput([74.7, 8.7, 7.4, 7.4, 6.7], 2_000_000)
    assert got == {"samples_per_sec": round(2_000_000 / 7.4, 1), "compile_seconds": round(74.7 - 7.4, 3),
                   "steady": "epochs 2-5"}
    resumed = throughput([30.0, 5.0, 31.0, 5.5, 6.0], 100, resumed=[2])  # epoch 3 compiles again
    assert resumed["steady"] == "epochs 2, 4-5" and resumed["samples_per_sec"] == round(100 / 5.5, 1)
    one = throughput([10.0], 1000, first_step=8.0, first_rows=100)  # 900 rows in the 2 s after step 1
    assert one == {"samples_per_sec": 450.0, "compile_seconds": round(8.0 - 100 / 450, 3),
                   "steady": "the steps of epoch 1 after its first call"}
    assert timing_line({"epochs": 5, "train_seconds": 104.9, "best_epoch": 4, **got}) == (
        "5 epoch(s) in 104.9 s: compile and warm-up 67.3 s, then 270,270 samples/s (steady: epochs 2-5); "
        "best epoch 4")


def test_learning_curve_table_pairs_train_and_validation_once():
    single = {"auc": [0.6], "logloss": [0.5], "loss": [0.5], "val_ctr_auc": [0.7], "val_ctr_logloss": [0.4],
              "val_loss": [0.4]}
    header = epoch_table(single, 1).splitlines()[0]
    assert header == ("| epoch | train loss | valid loss | train ctr auc | valid ctr auc | train ctr logloss | "
                      "valid ctr logloss |")
    multi = {"loss": [1.0], "ctr_loss": [0.5], "cvr_loss": [0.5], "ctr_auc": [0.6], "cvr_auc": [0.6],
             "val_ctr_auc": [0.7], "val_cvr_auc": [0.7], "val_loss": [0.9]}
    header = epoch_table(multi, 1).splitlines()[0]
    assert header == ("| epoch | train loss | valid loss | train ctr loss | train cvr loss | train ctr auc | "
                      "valid ctr auc | train cvr auc | valid cvr auc |")
    titles = [ax.get_title() for ax in curves_figure(single).axes if ax.get_title()]
    assert titles == ["loss", "ctr auc", "ctr logloss"]
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in curves_figure(single).axes[:3]]
    assert all(labels == ["train", "validation"] for labels in legends)


def _click_table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    cat = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]).astype(object)
    cat[rng.random(n) < 0.1] = None
    return pa.table({"item": rng.integers(0, 20, n), "cat": pa.array(cat, pa.string()),
                     "click": (rng.random(n) < np.where(cat == "a", 0.8, 0.2)).astype("int64")})


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("truth")
    (folder / "tiny.rec").write_text(SPEC, encoding="utf-8")
    train, valid = _click_table(300, 1), _click_table(100, 2)
    pq.write_table(train, folder / "train.parquet")
    pq.write_table(valid, folder / "valid.parquet")
    return folder, train, valid


@pytest.mark.slow
def test_a_streamed_run_reports_its_rows_rate_and_fixes(tables):
    pytest.importorskip("tensorflow")
    from recdsl.training.config import RunConfig
    from recdsl.training.fit import train

    folder, table, _ = tables
    config = RunConfig(epochs=2, batch_size=64, cache_mb=0, jit_compile="off", missing="fill", patience=0)
    result = train(folder / "tiny.rec", folder / "train.parquet", folder / "valid.parquet", out=folder / "run",
                   config=config)
    clicks = np.asarray(table["click"])
    nulls = table["cat"].null_count
    data = json.loads((folder / "run" / "run.json").read_text())["data"]
    assert data["train"]["rows"] == 300
    assert data["train"]["label_rate"]["click"] == pytest.approx(clicks.mean())
    train_fixes = {f["what"]: f["rows"] for f in data["fixes"] if f["split"] == "train"}
    values = [v for v in table["cat"].to_pylist() if v is not None]
    top2 = sorted(set(values), key=lambda v: (-values.count(v), v))[:2]
    cut = sum(v not in top2 for v in values)  # max_tokens=2 of 3 values: the third is cut
    assert train_fixes == {"null or empty -> OOV row": nulls,  # once, not once per epoch
                           "beyond max_tokens=2 -> OOV row": cut}
    report = (folder / "run" / "report.md").read_text()
    assert "`tiny` was trained on 300 rows" in report
    assert f"| train | `{folder / 'train.parquet'}` | 300 | {clicks.mean():.4f} |" in report
    assert f"| train | `cat` | null or empty -> OOV row | {nulls} |" in report
    assert result.fixes == data["fixes"]


def test_values_cut_by_max_tokens_are_not_called_unseen(tables):
    pytest.importorskip("tensorflow")
    from recdsl.checker import check_file
    from recdsl.data.errors import FixLog
    from recdsl.data.pipeline import Split
    from recdsl.data.preprocess import Preprocessor
    from recdsl.data.schema import schema_of
    from recdsl.data.source import read

    folder, table, valid = tables
    schema = schema_of(check_file(folder / "tiny.rec"))
    pre = Preprocessor.fit(read(folder / "train.parquet", schema, FixLog("train")), schema)
    assert pre.tables["cat"]["vocabulary"] == ["a", "b"] and pre.tables["cat"]["seen"] == 3
    fixes = {f["what"]: f["rows"] for f in Split("train", folder / "train.parquet", pre).load().fixes.rows()}
    assert fixes["beyond max_tokens=2 -> OOV row"] == sum(v == "c" for v in table["cat"].to_pylist())
    fixes = {f["what"]: f["rows"] for f in Split("valid", folder / "valid.parquet", pre).load().fixes.rows()}
    assert fixes["unseen in training or beyond max_tokens=2 -> OOV row"] == sum(
        v == "c" for v in valid["cat"].to_pylist())
    assert not any("unseen value" in what for what in fixes)


def test_prediction_traces_a_model_once_whatever_the_rows():
    pytest.importorskip("tensorflow")
    import keras

    from recdsl.training.scoring import predict_rows

    x = keras.Input((3,), name="x")
    model = keras.Model({"x": x}, {"ctr": keras.layers.Dense(1, activation="sigmoid")(x)})
    rng = np.random.default_rng(0)
    reference = None
    for rows in (100, 37, 250, 64, 1):
        inputs = {"x": rng.normal(size=(rows, 3)).astype("float32")}
        got = predict_rows(model, inputs, 64)["ctr"]
        assert got.shape == (rows, 1)
        reference = 1 / (1 + np.exp(-(inputs["x"] @ model.get_weights()[0] + model.get_weights()[1])))
        np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-6)
    assert model.predict_function.experimental_get_tracing_count() == 1
