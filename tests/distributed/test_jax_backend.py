"""The JAX backend end to end: `KERAS_BACKEND=jax recdsl train / evaluate / predict / export`, with the
metrics of a TensorFlow run on the same data within noise, and a SavedModel (exported from the
JAX-trained model.keras through Keras' TensorFlow backend) that serves the scores JAX predicted."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from ..training.test_train_cli import SPEC, click_log

pytest.importorskip("jax")
tf = pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.slow,  # trains twice and starts three Python processes
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]

ROOT = Path(__file__).resolve().parents[2]


def recdsl_jax(*argv, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "recdsl", *map(str, argv)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("jax")
    (base / "tiny.rec").write_text(SPEC)
    pq.write_table(click_log(600, 1), base / "train.parquet")
    pq.write_table(click_log(300, 2), base / "valid.parquet")
    flags = ["--train", "train.parquet", "--valid", "valid.parquet", "--epochs", "4", "--batch-size", "64",
             "--lr", "0.05", "-q"]
    recdsl_jax("train", "tiny.rec", "-o", "jax_run", *flags, cwd=base)
    import recdsl

    recdsl.train(base / "tiny.rec", base / "train.parquet", base / "valid.parquet", out=base / "tf_run", epochs=4,
                 batch_size=64, learning_rate=0.05)
    return base


def test_jax_trains_evaluates_and_predicts(base):
    info = json.loads((base / "jax_run" / "run.json").read_text())
    assert info["status"] == "finished" and info["backend"] == "jax"
    metrics = json.loads((base / "jax_run" / "metrics.json").read_text())["valid"]["click"]
    done = recdsl_jax("evaluate", "jax_run", "--data", "valid.parquet", cwd=base)
    assert f"| click | data | {metrics['auc']:.4f} | {metrics['logloss']:.4f} |" in done.stdout
    recdsl_jax("predict", "jax_run", "--data", "valid.parquet", "-o", "scores.csv", cwd=base)
    scores = np.loadtxt(base / "scores.csv", skiprows=1)
    from recdsl.training.metrics import auc

    labels = pq.read_table(base / "valid.parquet").column("click").to_numpy()
    assert auc(labels, scores) == pytest.approx(metrics["auc"], abs=1e-6)


def test_jax_and_tensorflow_reach_the_same_metrics_within_noise(base):
    jax_m = json.loads((base / "jax_run" / "metrics.json").read_text())["valid"]["click"]
    tf_m = json.loads((base / "tf_run" / "metrics.json").read_text())["valid"]["click"]
    assert jax_m["auc"] > 0.75 and tf_m["auc"] > 0.75  # the planted signal (cat a: 85% clicks, b: 15%)
    assert abs(jax_m["auc"] - tf_m["auc"]) < 0.03 and abs(jax_m["logloss"] - tf_m["logloss"]) < 0.05


def test_a_jax_run_exports_a_savedmodel_that_serves_its_scores(base):
    recdsl_jax("export", "jax_run", "-o", "saved/1", cwd=base)
    table = pq.read_table(base / "valid.parquet").to_pydict()
    fn = tf.saved_model.load(str(base / "saved" / "1")).signatures["serving_default"]
    served = fn(item=tf.constant(table["item"], tf.int64), cat=tf.constant(table["cat"]),
                hist=tf.constant([v for h in table["hist"] for v in h], tf.int64),
                hist_lengths=tf.constant([len(h) for h in table["hist"]], tf.int64))["click"].numpy().reshape(-1)
    scores = np.loadtxt(base / "scores.csv", skiprows=1)
    assert served.shape == scores.shape == (300,)
    assert np.max(np.abs(served - scores)) < 1e-5
