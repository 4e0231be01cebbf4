"""`recdsl train`, `evaluate` and `predict` end to end through recdsl.cli.main.main, on a tiny DIN spec
and ~300 rows of Parquet with a planted signal. One trained run is shared by the module."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recdsl.training.metrics import auc

from ..cli_call import call

pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.slow,  # trains a model (~5 s) and starts a fresh Python once
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]

ROOT = Path(__file__).resolve().parents[2]
SPEC = """model tiny "a tiny DIN"
feature item : id(buckets=50, dim=4)
feature cat  : category(vocab=["a", "b"], dim=4)
feature hist : sequence(of=item, max_len=5)
pool interest = din(query=[item], keys=[hist], units=[8])
output click = sigmoid(mlp([item, cat, interest], units=[8]))
"""
RUN_FILES = ["model.keras", "preprocessing.json", "metrics.json", "history.json", "report.md", "curves.png",
             "run.json", "spec.rec"]


def click_log(n: int, seed: int) -> pa.Table:
    """cat "a" clicks 85% of the time, "b" 15%: the planted signal."""
    rng = np.random.default_rng(seed)
    cat = rng.choice(["a", "b"], n)
    return pa.table({
        "uid": np.arange(n, dtype="int64") + 10_000 * seed,
        "item": rng.integers(0, 20, n),
        "cat": cat,
        "hist": [rng.integers(0, 20, k).tolist() for k in rng.integers(0, 7, n)],
        "click": (rng.random(n) < np.where(cat == "a", 0.85, 0.15)).astype("int64"),
    })


class Run:
    pass


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    r = Run()
    r.dir = tmp_path_factory.mktemp("e2e")
    r.spec = r.dir / "tiny.rec"
    r.spec.write_text(SPEC, encoding="utf-8")
    r.train_table, r.valid_table = click_log(300, 1), click_log(100, 2)
    r.train, r.valid = r.dir / "train.parquet", r.dir / "valid.parquet"
    pq.write_table(r.train_table, r.train)
    pq.write_table(r.valid_table, r.valid)
    r.out = r.dir / "run"
    r.argv = ["train", r.spec, "--train", r.train, "--valid", r.valid, "-o", r.out, "--epochs", "2",
              "--batch-size", "64", "--lr", "0.01", "-q"]
    r.code, r.stdout, r.stderr = call(r.argv)
    assert r.code == 0, r.stderr
    r.metrics = json.loads((r.out / "metrics.json").read_text())
    return r


def table_row(text: str, output: str, split: str) -> tuple[float, float]:
    """(AUC, logloss) of the printed metrics table row."""
    m = re.search(rf"^\| {output} \| {split} \| ([0-9.]+) \| ([0-9.]+) \|$", text, re.M)
    assert m, text
    return float(m.group(1)), float(m.group(2))


def test_train_writes_the_run_folder(run):
    for name in RUN_FILES:
        assert (run.out / name).is_file(), name
    assert (run.out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run.out / "spec.rec").read_text() == SPEC
    assert not (run.out / "backup").exists()  # finished: nothing to resume
    assert not (run.out / ".lock").exists() and not list(run.out.glob(".tmp-*"))
    assert json.loads((run.out / "run.json").read_text())["status"] == "finished"
    assert (run.out / "checkpoints" / "best.keras").is_file()
    assert "Traceback" not in run.stderr


def test_train_prints_the_validation_auc_it_saved(run):
    printed_auc, printed_logloss = table_row(run.stdout, "click", "valid")
    saved = run.metrics["valid"]["click"]
    assert printed_auc > 0.5
    assert printed_auc == round(saved["auc"], 4) and printed_logloss == round(saved["logloss"], 4)
    assert f"run folder: {run.out}" in run.stdout
    assert re.search(r"^2 epoch\(s\) in [0-9.]+ s", run.stdout, re.M)


def test_run_json_and_history(run):
    info = json.loads((run.out / "run.json").read_text())
    assert info["model"] == "tiny"
    assert (info["config"]["epochs"], info["config"]["batch_size"], info["config"]["learning_rate"]) == (2, 64, 0.01)
    assert info["data"]["train"]["rows"] == 300 and info["data"]["valid"]["rows"] == 100
    assert info["data"]["train"]["label_rate"]["click"] == pytest.approx(np.mean(run.train_table["click"]))
    assert info["timing"]["epochs"] == 2
    history = json.loads((run.out / "history.json").read_text())
    assert len(history["loss"]) == 2 and len(history["val_click_auc"]) == 2
    csv_lines = (run.out / "history.csv").read_text().splitlines()
    assert csv_lines[0] == ",".join(["epoch"] + sorted(history)) and len(csv_lines) == 3
    best = info["timing"]["best_epoch"]
    # the saved model is the best validation epoch's
    assert run.metrics["valid"]["click"]["auc"] == pytest.approx(history["val_click_auc"][best - 1], abs=1e-9)
    assert max(history["val_click_auc"]) == history["val_click_auc"][best - 1]
    report = (run.out / "report.md").read_text()
    assert "curves.png" in report and "tiny" in report


def test_train_again_without_force_is_refused(run):
    before = (run.out / "model.keras").stat().st_mtime_ns
    code, out, err = call(run.argv)
    assert code == 2  # an existing output (README: exit codes)
    assert err == (f"recdsl: error: run folder {str(run.out)!r} is not empty\n  hint: pass --force to replace it, "
                   "--resume to continue an interrupted run, or choose another -o folder\n")
    assert (run.out / "model.keras").stat().st_mtime_ns == before


def test_evaluate_prints_the_saved_validation_auc(run):
    code, out, err = call(["evaluate", run.out, "--data", run.valid])
    assert code == 0, err
    saved = run.metrics["valid"]["click"]
    assert table_row(out, "click", "data") == (round(saved["auc"], 4), round(saved["logloss"], 4))
    assert "\n100 rows\n" in out


def reference_scores(run, data) -> np.ndarray:
    """model.keras applied to the inputs preprocessing.json makes of `data`, loaded here."""
    import keras

    from recdsl.data.pipeline import Split
    from recdsl.data.preprocess import Preprocessor

    model = keras.saving.load_model(run.out / "model.keras", compile=False)
    pre = Preprocessor.load(run.out / "preprocessing.json")
    inputs = Split("ref", data, pre, labels=False).load().inputs
    raw = model.predict(inputs, verbose=0)
    return np.asarray(raw["click"] if isinstance(raw, dict) else raw, dtype="float32").reshape(-1)


def test_predict_writes_one_score_per_row(run, tmp_path):
    unlabelled = tmp_path / "score_me.parquet"
    pq.write_table(run.valid_table.drop_columns(["click"]), unlabelled)  # no label needed to score
    scores_path = tmp_path / "scores.parquet"
    code, out, err = call(["predict", run.out, "--data", unlabelled, "-o", scores_path, "--id-columns", "uid"])
    assert code == 0, err
    assert out == f"wrote 100 scores to {scores_path}\n"
    scores = pq.read_table(scores_path)
    assert scores.column_names == ["uid", "click"]
    assert scores.num_rows == 100
    assert scores.column("uid").to_pylist() == run.valid_table.column("uid").to_pylist()
    p = scores.column("click").to_numpy()
    assert ((p > 0) & (p < 1)).all()
    np.testing.assert_allclose(p, reference_scores(run, unlabelled), rtol=0, atol=1e-6)
    # the scores give the validation AUC the run saved
    labels = run.valid_table.column("click").to_numpy()
    assert auc(labels, p) == pytest.approx(run.metrics["valid"]["click"]["auc"], abs=1e-6)


def test_predict_refuses_to_overwrite_without_force(run, tmp_path):
    scores_path = tmp_path / "scores.csv"
    argv = ["predict", run.out, "--data", run.valid, "-o", scores_path, "--id-columns", "uid"]
    assert call(argv)[0] == 0
    first = scores_path.read_text()
    assert first.splitlines()[0] == '"uid","click"' and len(first.splitlines()) == 101
    scores_path.write_text("keep me")
    code, out, err = call(argv)
    assert code == 2  # an existing output (README: exit codes)
    assert err == f"recdsl: error: {scores_path} exists\n  hint: pass --force to replace it\n"
    assert scores_path.read_text() == "keep me"
    code, out, err = call(argv + ["--force"])
    assert code == 0, err
    assert scores_path.read_text() == first


def test_missing_column_in_valid_is_a_data_error(run, tmp_path):
    bad = tmp_path / "valid_bad.parquet"
    pq.write_table(run.valid_table.rename_columns(["uid", "item", "kat", "hist", "click"]), bad)
    code, out, err = call(["train", run.spec, "--train", run.train, "--valid", bad, "-o", tmp_path / "run",
                           "--epochs", "1", "-q"])
    assert code == 1
    assert err.startswith(f"recdsl: error: {bad}: column 'cat' is missing\n  hint: ")
    assert "Traceback" not in err and "internal error" not in err


def test_missing_column_when_evaluating(run, tmp_path):
    bad = tmp_path / "eval_bad.parquet"
    pq.write_table(run.valid_table.drop_columns(["click"]), bad)
    code, out, err = call(["evaluate", run.out, "--data", bad])
    assert code == 1
    assert err.startswith(f"recdsl: error: {bad}: column 'click' is missing\n")
    assert "Traceback" not in err


def test_bad_config_key_is_reported_with_a_hint(run, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("epoch: 3\n")
    out_dir = tmp_path / "never"
    code, out, err = call(["train", run.spec, "--train", run.train, "-o", out_dir, "--config", config])
    assert code == 1
    assert err == "recdsl: error: unknown run setting `epoch`\n  hint: did you mean `epochs`?\n"
    assert not out_dir.exists()


def test_predict_on_an_empty_file_writes_no_rows(run, tmp_path):
    empty = tmp_path / "empty.parquet"
    pq.write_table(run.valid_table.slice(0, 0), empty)
    scores_path = tmp_path / "scores.parquet"
    code, out, err = call(["predict", run.out, "--data", empty, "-o", scores_path, "--id-columns", "uid"])
    assert code == 0, err
    scores = pq.read_table(scores_path)
    assert scores.num_rows == 0 and scores.column_names == ["uid", "click"]


def test_evaluate_on_an_empty_file_is_a_data_error(run, tmp_path):
    empty = tmp_path / "empty.parquet"
    pq.write_table(run.valid_table.slice(0, 0), empty)
    code, out, err = call(["evaluate", run.out, "--data", empty])
    assert code == 1, err
    assert err.startswith("recdsl: error: ") and "internal error" not in err


def test_evaluate_in_a_fresh_process(run):
    """What a user runs: `recdsl evaluate` in a new Python, where no recdsl layer was imported yet."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "recdsl.cli", "evaluate", str(run.out), "--data", str(run.valid)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = run.metrics["valid"]["click"]
    assert table_row(done.stdout, "click", "data") == (round(saved["auc"], 4), round(saved["logloss"], 4))


def test_train_with_length_buckets(run, tmp_path):
    """--length-buckets: batches cut to their longest history (max_len 5, buckets of 2) train to
    the planted signal, and the setting is recorded with the run."""
    out = tmp_path / "buckets"
    argv = [a if a != run.out else out for a in run.argv if a != "-q"] + ["--length-buckets", "2"]
    code, stdout, stderr = call(argv)
    assert code == 0, stderr
    assert ", length buckets of 2 (hist)" in stdout
    info = json.loads((out / "run.json").read_text())
    assert info["config"]["length_buckets"] == 2
    assert json.loads((out / "metrics.json").read_text())["valid"]["click"]["auc"] > 0.75
