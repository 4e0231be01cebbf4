"""Served-only outputs end to end: a run whose data have a column for the trained output only
trains, `recdsl predict` writes the attention weights as a list per row (Parquet) or a JSON list
(CSV) and the label-free weight=0 head as a score, `recdsl evaluate` measures the trained output
alone, the report lists the served ones, and the exported SavedModel serves the same weights."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.slow,  # trains a tiny model, exports it
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]

SPEC = """model served "outputs without a loss"
feature item : id(buckets=40, dim=4)
feature hist : sequence(of=item, max_len=4)
pool interest = din(query=item, keys=hist, units=[6])
block deep = mlp([item, interest], units=[4])
output click = sigmoid(deep)
output later = sigmoid(deep, weight=0)       # no label: served only
output alphas = attention_weights(interest)  # [B, 4]
"""


def table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    hist = [rng.integers(1, 30, k).tolist() for k in rng.integers(0, 7, n)]  # empty and over-long lists
    return pa.table({"item": rng.integers(1, 30, n), "hist": hist, "click": rng.integers(0, 2, n)})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from recdsl.serving.savedmodel import export
    from recdsl.training.config import load_config
    from recdsl.training.fit import train

    base = tmp_path_factory.mktemp("served")
    (base / "served.rec").write_text(SPEC, encoding="utf-8")
    pq.write_table(table(200, 1), base / "train.parquet")
    train(base / "served.rec", base / "train.parquet", out=base / "run",
          config=load_config(None, {"epochs": 1, "batch_size": 32}), verbose=0, log=None)
    export(base / "run", base / "saved")
    return base


def test_predict_writes_every_served_output(run):
    from recdsl.training.scoring import predict

    rows = table(9, 2)
    pq.write_table(rows, run / "rows.parquet")
    out, _ = predict(run / "run", run / "rows.parquet", run / "scores.parquet", force=True)
    scores = pq.read_table(out)
    assert scores.column_names == ["click", "later", "alphas"]
    assert scores.schema.field("alphas").type == pa.list_(pa.float32(), 4)
    weights = np.asarray(scores["alphas"].to_pylist(), dtype="float32")
    lengths = np.minimum([len(h) for h in rows["hist"].to_pylist()], 4)
    padding = np.arange(4)[None, :] >= lengths[:, None]
    assert (weights[padding] == 0.0).all() and np.abs(weights[~padding]).min() > 0.0
    out_csv, _ = predict(run / "run", run / "rows.parquet", run / "scores.csv", force=True)
    from_csv = pacsv.read_csv(out_csv)
    assert np.array_equal(np.asarray([json.loads(t) for t in from_csv["alphas"].to_pylist()], "float32"), weights)
    assert np.allclose(from_csv["later"].to_numpy(), scores["later"].to_numpy())


def test_evaluate_and_report_leave_served_outputs_out(run):
    from recdsl.training.scoring import evaluate

    metrics, _ = evaluate(run / "run", [run / "train.parquet"])
    assert list(metrics) == ["click"]
    report = (run / "run" / "report.md").read_text(encoding="utf-8")
    assert ("Served only (no label, no loss, no metric; `recdsl predict` writes them, `recdsl export` serves "
            "them): `later`: probability (sigmoid), served only (weight=0, no label); `alphas`: attention "
            "weights of `interest`, one per position (0 at padding).") in report


def test_saved_model_serves_the_weights_predict_writes(run):
    import tensorflow as tf

    from recdsl.training.scoring import predict

    rows = table(7, 3)
    pq.write_table(rows, run / "serve.parquet")
    out, _ = predict(run / "run", run / "serve.parquet", run / "serve_scores.parquet", force=True)
    expected = pq.read_table(out)
    hist = rows["hist"].to_pylist()
    feed = {"item": tf.constant(rows["item"].to_numpy()),
            "hist": tf.constant([v for h in hist for v in h], tf.int64),
            "hist_lengths": tf.constant([len(h) for h in hist], tf.int64)}
    served = tf.saved_model.load(str(run / "saved")).signatures["serving_default"](**feed)
    assert served["alphas"].shape == (7, 4) and served["click"].shape == (7,)
    assert np.max(np.abs(served["alphas"].numpy() - np.asarray(expected["alphas"].to_pylist()))) < 1e-6
    assert np.max(np.abs(served["later"].numpy() - expected["later"].to_numpy())) < 1e-6
    info = json.loads((run / "saved" / "assets.extra" / "recdsl_signature.json").read_text())
    rows_out = {r["name"]: r for r in info["rows"] if r["role"] == "output"}
    assert rows_out["alphas"]["shape"] == [None, 4] and rows_out["later"]["shape"] == [None]
