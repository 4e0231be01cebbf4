"""A run as its user lives it, through `recdsl train` with stdout not a terminal (a log file):
periodic progress lines, compile time apart from steady throughput at the end and in the report,
the L2 penalty split from the training loss, and TensorBoard scalars at step level with train
and validation of one metric under one tag. One small run is shared by the module; the progress
line itself is checked against a hand-computed one with a fake clock."""
from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest

from recdsl.training.runlog import _classes, progress_line, progress_lines

from ..cli_call import call
from .test_train_cli import click_log

pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SPEC = """model tiny "a tiny DIN with an L2 penalty"
feature item : id(buckets=50, dim=4, l2=0.01)
feature cat  : category(vocab=["a", "b"], dim=4)
feature hist : sequence(of=item, max_len=5)
pool interest = din(query=[item], keys=[hist], units=[8])
output click = sigmoid(mlp([item, cat, interest], units=[8]))
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("progress")
    (folder / "tiny.rec").write_text(SPEC, encoding="utf-8")
    pq.write_table(click_log(300, 1), folder / "train.parquet")
    pq.write_table(click_log(100, 2), folder / "valid.parquet")
    (folder / "run.yaml").write_text("steps_per_execution: 2\n")  # 10 steps an epoch, 2 a call
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("recdsl.training.runlog.TENSORBOARD_STEPS", 2)
        code, out, err = call(["train", folder / "tiny.rec", "--train", folder / "train.parquet",
                               "--valid", folder / "valid.parquet", "-o", folder / "run", "--epochs", "2",
                               "--config", folder / "run.yaml",
                               "--batch-size", "32", "--lr", "0.01", "--progress-every", "0.000001"])
    assert code == 0, err
    return folder / "run", out


def test_progress_lines_when_stdout_is_not_a_terminal(run):
    _, out = run
    lines = re.findall(r"^epoch (\d)/2: ([0-9,]+) of 300 rows \((\d+)%\)(.*)$", out, re.M)
    assert {e for e, *_ in lines} == {"1", "2"}
    for epoch in ("1", "2"):  # every call of 2 steps (every 1e-6 s), rows in steps of the batch
        rows = [int(r.replace(",", "")) for e, r, *_ in lines if e == epoch]
        assert rows == [min(32 * k, 300) for k in range(2, 11, 2)]
    later = [rest for e, r, _, rest in lines if r != "64"]
    assert all(re.match(r", [0-9,]+ samples/s, loss [0-9.]+", rest) for rest in later)
    assert any("ETA" in rest for rest in later)


def test_no_progress_line_without_an_interval_or_a_log():
    assert progress_lines(0, print, total_rows=10, approximate=False, batch_size=2, epochs=1) == []
    assert progress_lines(30, None, total_rows=10, approximate=False, batch_size=2, epochs=1) == []


def test_progress_line_with_a_fake_clock():
    """Rate = rows after the first step / seconds after it; ETA = the epoch's rows left / rate."""
    ticks = iter([0.0, 40.0, 41.0, 46.0, 51.0])
    said = []
    callback = _classes()[0](5.0, said.append, total_rows=1000, approximate=False, batch_size=100, epochs=3,
                             clock=lambda: next(ticks))
    callback.on_epoch_begin(1)                            # t = 0
    callback.on_train_batch_end(0, {"loss": 0.7})         # t = 40: the first step (compiles); printed
    callback.on_train_batch_end(1, {"loss": 0.6})         # t = 41: under 5 s since the last line
    callback.on_train_batch_end(2, {"loss": 0.5})         # t = 46: 200 rows in 6 s after the first
    callback.on_train_batch_end(3, {"loss": 0.4})         # t = 51: 300 rows in 11 s
    assert said == ["epoch 2/3: 100 of 1,000 rows (10%), loss 0.7000",
                    "epoch 2/3: 300 of 1,000 rows (30%), 33 samples/s, loss 0.5000, ETA 21 s",
                    "epoch 2/3: 400 of 1,000 rows (40%), 27 samples/s, loss 0.4000, ETA 22 s"]
    assert progress_line(1, 1, 5, 9, True, None, None) == "epoch 1/1: 5 of ~9 rows (56%)"


def test_compile_time_and_steady_throughput_are_reported_apart(run):
    run_dir, out = run
    timing = json.loads((run_dir / "run.json").read_text())["timing"]
    first, second = timing["epoch_seconds"]
    assert timing["steady"] == "epoch 2"
    assert 300 / (second + 5e-4) <= timing["samples_per_sec"] <= 300 / (second - 5e-4)  # times in ms
    assert timing["compile_seconds"] == pytest.approx(max(first - second, 0), abs=2e-3)
    assert re.search(r"^2 epoch\(s\) in [0-9.]+ s: compile and warm-up [0-9.]+ s, then [0-9,]+ samples/s "
                     r"\(steady: epoch 2\); best epoch \d$", out, re.M), out
    report = (run_dir / "report.md").read_text()
    assert re.search(r"^- throughput: [0-9,]+ samples/s \(steady: epoch 2\)$", report, re.M)
    assert re.search(r"^- training time: [0-9.]+ s, of which compile and warm-up about [0-9.]+ s", report, re.M)


def test_the_penalty_is_recorded_and_the_loss_panel_compares_like_with_like(run):
    from recdsl.training.plots import curve_panels

    run_dir, _ = run
    history = json.loads((run_dir / "history.json").read_text())
    loss, penalty, logloss = (np.array(history[k]) for k in ("loss", "penalty", "logloss"))
    assert (penalty > 0).all()
    np.testing.assert_allclose(loss - penalty, logloss, atol=1e-5)  # the data loss, tracked apart
    panels = dict(curve_panels(history))
    assert list(panels) == ["loss, without the L2 penalty", "click auc", "click logloss",
                            "L2 penalty (train, mean per row)"]
    (label, train), (_, valid) = panels["loss, without the L2 penalty"]
    assert label == "train (without penalty)"
    np.testing.assert_allclose(train, loss - penalty)
    assert valid == history["val_loss"]
    assert [name for name, _ in panels["click auc"]] == ["train", "validation"]
    report = (run_dir / "report.md").read_text()
    assert ("| epoch | train loss | valid loss | train click auc | valid click auc | train click logloss | "
            "valid click logloss | L2 penalty |") in report
    assert "Train AUC is Keras' streaming AUC" in report and "Validation AUC is exact" in report


def test_tensorboard_pairs_train_and_validation_tags_and_logs_steps(run):
    import tensorflow as tf

    run_dir, _ = run

    def tags(folder):
        found = {}
        for path in sorted((run_dir / "logs" / folder).glob("events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for value in event.summary.value:
                    found.setdefault(value.tag, []).append(event.step)
        return found

    train, valid = tags("train"), tags("validation")
    for tag in ("epoch_click_auc", "epoch_click_logloss", "epoch_loss"):
        assert tag in train and tag in valid, (sorted(train), sorted(valid))
    assert "epoch_auc" not in train
    # step-level scalars every TENSORBOARD_STEPS (2 here) steps, at the step each call of 2 ends at
    assert train["batch_loss"] == list(range(2, 21, 2))
