"""A streamed run (cache_mb: 0) resumed inside an epoch sees the batches an uninterrupted run sees:
each streamed epoch is shuffled from (seed, epoch) alone and the resumed epoch skips the batches
already trained, so the stopped-and-resumed run ends with the same weights and history."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from ..cli_call import call
from .test_resume import argv, run_killed, weights
from .test_train_cli import SPEC, click_log

pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.slow,  # three fresh trainings (~60 s on 2 cores)
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]


def test_a_streamed_run_stopped_inside_an_epoch_resumes_to_the_uninterrupted_weights(tmp_path):
    (tmp_path / "tiny.rec").write_text(SPEC)
    pq.write_table(click_log(300, 1), tmp_path / "train.parquet")
    pq.write_table(click_log(100, 2), tmp_path / "valid.parquet")
    (tmp_path / "run.yaml").write_text("epochs: 3\nbatch_size: 64\nlearning_rate: 0.01\npatience: 2\n"
                                       "jit_compile: off\nbackup_every_steps: 2\ncache_mb: 0\nshuffle_buffer: 120\n")
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    code, out, err = call(argv(tmp_path, whole))
    assert code == 0, err
    assert "streamed" in out

    done = run_killed(argv(tmp_path, stopped), ("RECDSL_TEST_KILL_AFTER_BATCHES", "7"), "TERM")
    assert done.returncode == 143, done.stderr[-2000:]
    state = json.loads((stopped / "backup" / "state.json").read_text())
    assert (state["epochs"], state["step"]) == (1, 3)
    code, out, err = call(argv(tmp_path, stopped)[:-1] + ["--resume"])
    assert code == 0, err
    assert f"resuming {stopped} after epoch 1 and 3 step(s) of epoch 2\n" in out

    history_whole = json.loads((whole / "history.json").read_text())
    history_stopped = json.loads((stopped / "history.json").read_text())
    assert len(history_whole["loss"]) == 3
    for key in history_whole:
        np.testing.assert_allclose(history_stopped[key], history_whole[key], rtol=1e-6, atol=1e-7, err_msg=key)
    for a, b in zip(weights(whole / "model.keras"), weights(stopped / "model.keras")):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    rows = {name: json.loads((name / "run.json").read_text())["data"]["train"]["rows"] for name in (whole, stopped)}
    assert rows == {whole: 300, stopped: 300}
