"""The parts of resuming inside an epoch that need no training: the cached stream skips batches
exactly (the same batches an uninterrupted stream has from there), SIGTERM/Ctrl-C become a stop
request while training runs, and `--resume` on a folder with nothing to resume says so."""
from __future__ import annotations

import os
import signal
from types import SimpleNamespace

import numpy as np
import pytest

from recdsl.errors import OutputExists
from recdsl.training.backup import stop_requested, stop_requests
from recdsl.training.runs import check_run_dir, prepare_run_dir

ROWS, BATCH, MAX_LEN = 37, 8, 6  # 5 batches an epoch, the last one short


def _split(length_buckets: bool):
    from recdsl.data.pipeline import Split

    rng = np.random.default_rng(0)
    hist = rng.integers(2, 50, (ROWS, MAX_LEN)).astype("int32")
    hist[np.arange(MAX_LEN)[None, :] >= rng.integers(0, MAX_LEN + 1, ROWS)[:, None]] = 0
    column = SimpleNamespace(feature="hist", is_list=True, max_len=MAX_LEN)
    split = Split("train", [], SimpleNamespace(schema=SimpleNamespace(columns=[column])))
    split.inputs = {"hist": hist, "row": np.arange(ROWS, dtype="int64")[:, None]}
    split.targets = {"click": np.zeros((ROWS, 1), "float32")}
    split.rows = ROWS
    return split


def _rows(dataset, batches: int) -> list[list[int]]:
    return [x["row"][:, 0].numpy().tolist() for x, _ in dataset.take(batches)]


@pytest.mark.parametrize("buckets", [0, 2], ids=["shuffled", "length buckets"])
def test_a_skipped_stream_goes_on_with_the_batches_of_the_whole_one(buckets):
    pytest.importorskip("tensorflow")
    split = _split(bool(buckets))
    whole = _rows(split.training_dataset(BATCH, buckets, seed=3), 17)
    epochs = [sorted(sum(whole[i:i + 5], [])) for i in (0, 5, 10)]
    assert all(e == list(range(ROWS)) for e in epochs)  # every row once an epoch
    assert whole[:5] != whole[5:10]  # each epoch in a new order
    for skip in (1, 4, 5, 7, 12):
        assert _rows(split.training_dataset(BATCH, buckets, seed=3, skip=skip), 17 - skip) == whole[skip:], skip
    stream = split.training_dataset(BATCH, buckets, seed=3)
    assert _rows(stream, 17) == _rows(stream, 17) == whole  # each iteration starts from the seed


def test_sigterm_and_ctrl_c_while_training_are_stop_requests():
    before = signal.getsignal(signal.SIGTERM)
    with stop_requests():
        assert stop_requested() is None
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop_requested() == signal.SIGTERM  # still alive: the run backs up, then stops
    assert signal.getsignal(signal.SIGTERM) is before
    with stop_requests():
        assert stop_requested() is None  # a new run starts without the old request
        os.kill(os.getpid(), signal.SIGINT)
        assert stop_requested() == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C interrupts at once
            os.kill(os.getpid(), signal.SIGINT)


def test_resume_on_a_folder_that_holds_no_run_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputExists) as info:
        check_run_dir(tmp_path, resume=True)
    assert info.value.render() == (
        f"run folder {str(tmp_path)!r} holds no run to resume (it has no run.json)\n"
        "  hint: pass the -o folder of an interrupted `recdsl train`, --force to replace this folder's files, "
        "or choose another -o folder")
    assert "--resume" not in info.value.render()
    with pytest.raises(OutputExists, match="is not empty"):
        check_run_dir(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    fresh = tmp_path / "new"
    assert prepare_run_dir(fresh, resume=True) == fresh  # nothing there yet: the run starts
