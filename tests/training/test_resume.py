"""`recdsl train --resume` is exact: a run killed with SIGKILL at several points and resumed each time
ends with the weights, history, metrics and report of an uninterrupted run with the same seed.

The kills use the test hooks of recdsl.training.callbacks (RECDSL_TEST_KILL_AFTER_BATCHES/EPOCHS).
Early stopping (patience 1) ends the run at epoch 3 of 4, so the best epoch, the epochs without
improvement and the restored best weights must survive the kills too."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from ..cli_call import call
from .test_train_cli import SPEC, click_log

pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.slow,  # four fresh Pythons that train (~60 s on 2 cores)
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]

ROOT = Path(__file__).resolve().parents[2]
#: 300 rows in batches of 64: 5 steps an epoch
KILLS = [
    ("RECDSL_TEST_KILL_AFTER_BATCHES", "2"),  # in epoch 1, before any backup
    ("RECDSL_TEST_KILL_AFTER_BATCHES", "8"),  # in epoch 2, step 3: epoch 1 is backed up
    ("RECDSL_TEST_KILL_AFTER_EPOCHS", "2"),   # after epoch 3 (early stopping) is backed up: nothing left to train
]


def argv(tmp: Path, out: Path) -> list[str]:
    return ["train", str(tmp / "tiny.rec"), "--train", str(tmp / "train.parquet"), "--valid", str(tmp / "valid.parquet"),
            "-o", str(out), "--config", str(tmp / "run.yaml"), "-q"]


def run_killed(args: list[str], hook: tuple[str, str], signal_name: str = "KILL") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3", hook[0]: hook[1], "RECDSL_TEST_KILL_SIGNAL": signal_name}
    return subprocess.run([sys.executable, "-m", "recdsl.cli"] + args, capture_output=True, text=True, env=env,
                          timeout=300)


def weights(path: Path) -> list:
    from recdsl.layers import load_model

    return load_model(path).get_weights()


def without_durations(report: str) -> str:
    """report.md without what depends on the clock."""
    report = re.sub(r"Training took [^.]+\.[0-9]+ s( at [0-9,]+ samples/s)?\.", "", report)
    return "\n".join(line for line in report.splitlines()
                     if not line.startswith(("- training time", "- throughput", "- model build time",
                                             "- epoch seconds", "- data seconds")))


def test_a_run_killed_anywhere_resumes_to_the_uninterrupted_result(tmp_path):
    (tmp_path / "tiny.rec").write_text(SPEC)
    pq.write_table(click_log(300, 1), tmp_path / "train.parquet")
    pq.write_table(click_log(100, 2), tmp_path / "valid.parquet")
    (tmp_path / "run.yaml").write_text("epochs: 4\nbatch_size: 64\nlearning_rate: 0.01\npatience: 1\n"
                                       "jit_compile: off\n")
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    code, _, err = call(argv(tmp_path, whole))
    assert code == 0, err

    done = run_killed(argv(tmp_path, killed), KILLS[0])
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert json.loads((killed / "run.json").read_text())["status"] == "running"
    assert not (killed / "backup").exists()
    for hook in KILLS[1:]:
        done = run_killed(argv(tmp_path, killed) + ["--resume"], hook)
        assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
        state = json.loads((killed / "backup" / "state.json").read_text())
        history = json.loads((killed / "history.json").read_text())
        assert len(history["loss"]) == state["epochs"]  # the records agree at every kill
        assert len((killed / "history.csv").read_text().splitlines()) == state["epochs"] + 1
    assert state["stopped"] and not (killed / "model.keras").exists()
    code, _, err = call(argv(tmp_path, killed) + ["--resume"])
    assert code == 0, err

    info_whole = json.loads((whole / "run.json").read_text())
    info_killed = json.loads((killed / "run.json").read_text())
    assert info_whole["timing"]["epochs"] == info_killed["timing"]["epochs"] == 3  # early stopping at 3 of 4
    assert info_whole["timing"]["best_epoch"] == info_killed["timing"]["best_epoch"]
    assert info_killed["status"] == "finished" and info_killed["resumed_after_epochs"] == [1, 3]
    history_whole = json.loads((whole / "history.json").read_text())
    history_killed = json.loads((killed / "history.json").read_text())
    assert history_whole.keys() == history_killed.keys()
    for key in history_whole:
        np.testing.assert_allclose(history_killed[key], history_whole[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert len((killed / "history.csv").read_text().splitlines()) == 4
    metrics_whole = json.loads((whole / "metrics.json").read_text())["valid"]["click"]
    metrics_killed = json.loads((killed / "metrics.json").read_text())["valid"]["click"]
    assert metrics_killed == pytest.approx(metrics_whole, rel=1e-5, abs=1e-6)
    for a, b in zip(weights(whole / "model.keras"), weights(killed / "model.keras")):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert without_durations((killed / "report.md").read_text()) == without_durations((whole / "report.md").read_text())
    assert not (killed / "backup").exists() and not (killed / ".lock").exists()


def test_a_run_stopped_inside_epochs_resumes_from_the_step_to_the_uninterrupted_weights(tmp_path):
    """Backups every 2 steps. SIGTERM at epoch 2 step 2 (a preemption): the run backs up at the end
    of step 3, says so, exits 143 and is `interrupted`; resumed, SIGKILL at epoch 3 step 2, just
    after its backup; resumed again, it ends where an uninterrupted run ends: the same weights,
    history (the running train metrics of the resumed epochs included) and metrics."""
    (tmp_path / "tiny.rec").write_text(SPEC)
    pq.write_table(click_log(300, 1), tmp_path / "train.parquet")
    pq.write_table(click_log(100, 2), tmp_path / "valid.parquet")
    (tmp_path / "run.yaml").write_text("epochs: 3\nbatch_size: 64\nlearning_rate: 0.01\npatience: 2\n"
                                       "jit_compile: off\nbackup_every_steps: 2\n")
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    code, _, err = call(argv(tmp_path, whole))
    assert code == 0, err

    done = run_killed(argv(tmp_path, stopped), ("RECDSL_TEST_KILL_AFTER_BATCHES", "7"), "TERM")
    assert done.returncode == 143, done.stderr[-2000:]
    assert ("recdsl: error: training stopped by SIGTERM at epoch 2, step 3, after a backup of the run\n"
            "  hint: `recdsl train` with the same arguments and --resume continues it\n") in done.stderr
    assert json.loads((stopped / "run.json").read_text())["status"] == "interrupted"
    state = json.loads((stopped / "backup" / "state.json").read_text())
    assert (state["epochs"], state["step"], state["weights"]) == (1, 3, "step-0002-0000003.weights.h5")
    assert sorted(p.name for p in (stopped / "backup").iterdir()) == [
        "best-0001.keras", "state.json", "step-0002-0000003.weights.h5"]

    done = run_killed(argv(tmp_path, stopped) + ["--resume"], ("RECDSL_TEST_KILL_AFTER_BATCHES", "4"))
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    state = json.loads((stopped / "backup" / "state.json").read_text())
    assert (state["epochs"], state["step"]) == (2, 2)  # the rest of epoch 2, then 2 steps of epoch 3
    code, out, err = call(argv(tmp_path, stopped)[:-1] + ["--resume"])
    assert code == 0, err
    assert f"resuming {stopped} after epoch 2 and 2 step(s) of epoch 3" in out

    info = json.loads((stopped / "run.json").read_text())
    assert info["status"] == "finished"
    assert (info["resumed_after_epochs"], info["resumed_after_steps"]) == ([1, 2], [3, 2])
    history_whole = json.loads((whole / "history.json").read_text())
    history_stopped = json.loads((stopped / "history.json").read_text())
    assert history_whole.keys() == history_stopped.keys() and len(history_whole["loss"]) == 3
    for key in history_whole:
        np.testing.assert_allclose(history_stopped[key], history_whole[key], rtol=1e-6, atol=1e-7, err_msg=key)
    for a, b in zip(weights(whole / "model.keras"), weights(stopped / "model.keras")):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    metrics_whole = json.loads((whole / "metrics.json").read_text())["valid"]["click"]
    assert json.loads((stopped / "metrics.json").read_text())["valid"]["click"] == pytest.approx(metrics_whole,
                                                                                                rel=1e-6)
    assert not (stopped / "backup").exists()
