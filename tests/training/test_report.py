"""The run report: attention statistics against hand-computed values, masking, the uniformity
warnings, the PNG plots, and report.md's content and determinism."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from recdsl.training.diagnostics import CV_THRESHOLD, ENTROPY_THRESHOLD, attention_stats
from recdsl.training.plots import plot_attention, plot_curves
from recdsl.training.report import format_metrics_table, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# 3 examples x 4 history positions; row 1 has a single valid position.
W = np.array([[1.0, 2.0, 3.0, 9.0],
              [0.5, 0.5, 7.0, 7.0],
              [4.0, -1.0, 2.0, 3.0]])
M = np.array([[True, True, True, False],
              [True, False, False, False],
              [True, True, True, True]])


def assert_png(path, min_bytes=5_000):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes


# --------------------------------------------------------------------------- attention_stats


def test_stats_match_hand_computed_values_unnormalised():
    s = attention_stats(W, M, "none", name="interest")
    valid = np.array([1.0, 2.0, 3.0, 0.5, 4.0, -1.0, 2.0, 3.0])
    assert (s["rows"], s["rows_with_history"], s["rows_without_history"]) == (3, 3, 0)
    assert s["positions"] == 8 and s["rows_measured"] == 2 and s["nonfinite"] == 0
    assert s["mean"] == pytest.approx(valid.mean()) == pytest.approx(14.5 / 8)
    assert s["var"] == pytest.approx(((valid - valid.mean()) ** 2).mean())
    assert s["std"] == pytest.approx(math.sqrt(s["var"]))
    assert (s["min"], s["max"]) == (-1.0, 4.0)
    assert s["p50"] == pytest.approx(2.0)
    assert s["p5"] == pytest.approx(np.quantile(valid, 0.05))
    assert s["p95"] == pytest.approx(np.quantile(valid, 0.95))
    assert s["histogram"]["counts"] == np.histogram(valid, bins=20)[0].tolist()
    assert sum(s["histogram"]["counts"]) == 8 and len(s["histogram"]["edges"]) == 21
    assert s["histogram"]["edges"][0] == -1.0 and s["histogram"]["edges"][-1] == 4.0
    # within-row CV = population std / mean |w|: row 0 [1, 2, 3], row 2 [4, -1, 2, 3]; row 1 has one position
    cv0 = math.sqrt(2 / 3) / 2.0
    cv2 = math.sqrt((4 + 9 + 0 + 1) / 4) / 2.5
    assert s["uniformity_measure"] == "within_row_cv"
    assert s["uniformity"] == pytest.approx((cv0 + cv2) / 2)
    assert s["mean_within_row_cv"] == s["uniformity"]
    assert s["near_uniform"] is False and s["near_uniform_rows"] == 0
    assert s["warning"] is None and s["warnings"] == []
    assert s["relative_histogram"] is None
    json.dumps(s)


def test_stats_match_hand_computed_values_softmax():
    w = np.array([[0.2, 0.3, 0.5, 0.0],
                  [1.0, 0.0, 0.0, 0.0],
                  [0.25, 0.25, 0.25, 0.25]])
    s = attention_stats(w, M, "softmax", name="target")
    h0 = -(0.2 * math.log(0.2) + 0.3 * math.log(0.3) + 0.5 * math.log(0.5)) / math.log(3)
    assert s["uniformity_measure"] == "normalised_entropy"
    assert s["uniformity"] == pytest.approx((h0 + 1.0) / 2)
    assert s["mean_normalised_entropy"] == s["uniformity"]
    assert s["near_uniform_rows"] == 1  # the row of four 0.25
    assert s["near_uniform"] is False  # mean (0.937 + 1) / 2 < 0.99
    valid = np.array([0.2, 0.3, 0.5, 1.0, 0.25, 0.25, 0.25, 0.25])
    assert s["mean"] == pytest.approx(valid.mean())
    rel = np.array([0.6, 0.9, 1.5, 1.0, 1.0, 1.0, 1.0])
    assert s["relative_histogram"]["counts"] == np.histogram(rel, bins=20)[0].tolist()
    assert s["warnings"] == []
    json.dumps(s)


@pytest.mark.parametrize("normalize", ["none", "softmax"])
def test_masked_positions_are_ignored(normalize):
    w = np.abs(W) / 10
    base = attention_stats(w, M, normalize)
    noisy = np.where(M, w, np.array([[123.0, -7.0, np.nan, np.inf]]))
    assert attention_stats(noisy, M, normalize) == base


def test_trailing_unit_axis_and_missing_mask():
    assert attention_stats(W[..., None], M[..., None], "none") == attention_stats(W, M, "none")
    assert attention_stats(W, None, "none")["positions"] == 12


@pytest.mark.parametrize("normalize", ["none", "softmax"])
def test_uniform_weights_are_flagged(normalize):
    lengths = np.array([2, 5, 8, 8, 3])
    mask = np.arange(8)[None, :] < lengths[:, None]
    value = (1.0 / lengths)[:, None] if normalize == "softmax" else 0.7
    w = np.where(mask, value * np.ones((5, 8)), 0.0)
    s = attention_stats(w, mask, normalize, name="interest")
    assert s["near_uniform"] is True and s["near_uniform_rows"] == 5
    if normalize == "softmax":
        assert s["uniformity"] == pytest.approx(1.0)
        assert "mean normalised entropy 1.0000 > 0.99" in s["warning"]
        assert "avg pooling" in s["warning"]
    else:
        assert s["uniformity"] == pytest.approx(0.0, abs=1e-12)
        assert "coefficient of variation 0.0000 < 0.1" in s["warning"]
    assert s["warning"].startswith("attention weights of `interest` are close to uniform")
    assert "query and keys share an embedding space" in s["warning"]
    assert s["warnings"] == [s["warning"]]


@pytest.mark.parametrize("normalize", ["none", "softmax"])
def test_peaked_weights_are_not_flagged(normalize):
    rng = np.random.default_rng(0)
    scores = 4.0 * rng.standard_normal((64, 10))
    mask = np.ones((64, 10), dtype=bool)
    mask[:, 7:] = rng.random((64, 3)) < 0.5
    if normalize == "softmax":
        e = np.exp(scores) * mask
        w = e / e.sum(axis=1, keepdims=True)
    else:
        w = scores
    s = attention_stats(w, mask, normalize)
    assert s["near_uniform"] is False and s["warning"] is None
    if normalize == "softmax":
        assert s["uniformity"] < ENTROPY_THRESHOLD
    else:
        assert s["uniformity"] > CV_THRESHOLD


def test_small_variation_just_past_the_thresholds():
    mask = np.ones((4, 10), dtype=bool)
    ramp = np.linspace(-1, 1, 10) * math.sqrt(3) * 0.05  # population CV ~ 0.05 around 1
    assert attention_stats(1.0 + ramp[None, :].repeat(4, 0), mask, "none")["near_uniform"] is True
    ramp = np.linspace(-1, 1, 10) * math.sqrt(3) * 0.3
    assert attention_stats(1.0 + ramp[None, :].repeat(4, 0), mask, "none")["near_uniform"] is False


def test_rows_without_history_are_counted_and_excluded():
    mask = M.copy()
    mask[1] = False
    w = np.vstack([W, np.full((2, 4), 5.0)])
    mask = np.vstack([mask, np.zeros((2, 4), dtype=bool)])
    s = attention_stats(w, mask, "none")
    assert (s["rows"], s["rows_with_history"], s["rows_without_history"]) == (5, 2, 3)
    assert s["positions"] == 7 and s["rows_measured"] == 2
    only = attention_stats(W[[0, 2]], M[[0, 2]], "none")
    for key in ("mean", "var", "p5", "p50", "p95", "uniformity", "histogram"):
        assert s[key] == only[key]


@pytest.mark.parametrize("normalize", ["none", "softmax"])
def test_no_history_at_all(normalize):
    s = attention_stats(np.ones((4, 6)), np.zeros((4, 6), dtype=bool), normalize, name="interest")
    assert (s["rows"], s["rows_with_history"], s["rows_without_history"], s["positions"]) == (4, 0, 4, 0)
    for key in ("mean", "var", "std", "min", "max", "p5", "p50", "p95", "uniformity", "near_uniform"):
        assert s[key] is None
    assert s["histogram"] == {"edges": [], "counts": []}
    assert "no history to measure" in s["warning"]
    json.dumps(s)
    zero_rows = attention_stats(np.zeros((0, 6)), np.zeros((0, 6), dtype=bool), normalize)
    assert zero_rows["rows"] == 0 and zero_rows["mean"] is None and "no history" in zero_rows["warning"]


def test_single_position_rows_only():
    mask = np.zeros((3, 4), dtype=bool)
    mask[:, 0] = True
    s = attention_stats(np.ones((3, 4)), mask, "softmax")
    assert s["positions"] == 3 and s["rows_measured"] == 0
    assert s["uniformity"] is None and s["near_uniform"] is None
    assert "could not be measured" in s["warning"]


def test_nonfinite_softmax_sums_and_dead_weights_warn():
    w = W.copy()
    w[2, 1] = np.nan
    s = attention_stats(w, M, "none")
    assert s["nonfinite"] == 1 and s["positions"] == 7 and "non-finite" in s["warning"]
    json.dumps(s)

    padded = np.array([[0.2, 0.2, 0.6], [0.3, 0.3, 0.4]])  # softmax taken over the padding too
    mask = np.array([[True, True, False], [True, True, True]])
    s = attention_stats(padded, mask, "softmax")
    assert any("do not sum to 1" in text and "padding" in text for text in s["warnings"])
    assert s["uniformity"] == pytest.approx((1.0 + (-(0.6 * math.log(0.3) + 0.4 * math.log(0.4)) / math.log(3))) / 2)

    s = attention_stats(np.full((3, 4), 1e-9), M, "none", name="interest")
    assert "all about zero" in s["warning"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="normalize"):
        attention_stats(W, M, "sigmoid")
    with pytest.raises(ValueError, match="mask shape"):
        attention_stats(W, M[:, :3], "none")


# --------------------------------------------------------------------------- plots


HISTORY = {
    "loss": [0.62, 0.55, 0.52, 0.50, 0.49], "val_loss": [0.58, 0.54, 0.525, 0.519, 0.521],
    "ctr_auc": [0.70, 0.75, 0.77, 0.79, 0.80], "val_ctr_auc": [0.73, 0.765, 0.776, 0.781, 0.779],
    "ctr_logloss": [0.62, 0.55, 0.52, 0.50, 0.49], "val_ctr_logloss": [0.58, 0.54, 0.525, 0.519, 0.521],
}


def test_plot_curves(tmp_path):
    assert_png(plot_curves(HISTORY, tmp_path / "curves.png"))
    single = {"loss": [0.6], "val_loss": [0.58], "val_ctr_auc": [0.71]}
    assert_png(plot_curves(single, tmp_path / "sub" / "one.png", best_epoch=1))
    assert_png(plot_curves({}, tmp_path / "empty.png"), min_bytes=1_000)


def test_plot_attention(tmp_path):
    rng = np.random.default_rng(1)
    mask = rng.random((50, 12)) < 0.7
    e = np.exp(rng.standard_normal((50, 12))) * mask
    stats = {
        "interest": attention_stats(rng.standard_normal((50, 12)), mask, "none", name="interest"),
        "target": attention_stats(e / np.maximum(e.sum(1, keepdims=True), 1e-12), mask, "softmax"),
        "empty": attention_stats(np.ones((3, 4)), np.zeros((3, 4), bool), "none"),
    }
    assert_png(plot_attention(stats, tmp_path / "attention.png"))


# --------------------------------------------------------------------------- report.md


def report_inputs(tmp_path, **overrides):
    uniform_mask = np.ones((6, 5), dtype=bool)
    inputs = dict(
        spec_name="din_ctr",
        spec_path="specs/din.rec",
        spec_source='model din_ctr "CTR"\nfeature item_id : id(buckets=100, dim=8)\n',
        data={
            "train": {"files": ["data/train.parquet"], "rows": 80000, "label_rate": {"ctr": 0.55123}},
            "valid": {"files": ["data/valid.parquet"], "rows": 10000, "label_rate": {"ctr": 0.5478}},
            "fixes": [{"split": "train", "column": "hist_item_id", "what": "truncated to the newest 50", "rows": 123},
                      {"split": "valid", "column": "age", "what": "dropped: age missing", "rows": 7}],
        },
        metrics={"valid": {"ctr": {"auc": 0.781234, "logloss": 0.512345}},
                 "test": {"ctr": {"auc": 0.774567, "logloss": 0.518765}}},
        history=HISTORY,
        attention={"interest": attention_stats(np.full((6, 5), 0.2), uniform_mask, "softmax", name="interest"),
                   "peaked": attention_stats(W, M, "none", name="peaked")},
        timing={"epochs": 5, "best_epoch": 4, "train_seconds": 81.2, "samples_per_sec": 14000.0, "build_seconds": 1.2},
        config={"batch_size": 512, "learning_rate": 0.001, "optimizer": "adam"},
        diagram=tmp_path / "run" / "din_ctr.svg",
    )
    inputs.update(overrides)
    return inputs


def test_write_report_content(tmp_path):
    run = tmp_path / "run"
    path = write_report(run, **report_inputs(tmp_path))
    assert path == run / "report.md"
    text = path.read_text()
    assert text.startswith("# Training report: din_ctr\n")
    for section in ("## Spec", "## Data", "## Metrics", "## Training", "## Learning curves", "## Attention diagnostics"):
        assert section in text
    # summary: best epoch and the test metric
    summary = text.split("\n\n")[1]
    assert "best epoch was 4 of 5" in summary and "AUC 0.7746" in summary and "test split" in summary
    # spec source fenced, diagram linked relative to the run folder
    assert '```text\nmodel din_ctr "CTR"\nfeature item_id : id(buckets=100, dim=8)\n```' in text
    assert "](din_ctr.svg)" in text
    # data and fixes
    assert "| train | `data/train.parquet` | 80,000 | 0.5512 |" in text
    assert "| train | `hist_item_id` | truncated to the newest 50 | 123 |" in text
    assert "| valid | `age` | dropped: age missing | 7 |" in text
    # metrics with 4 decimals
    assert "| ctr | valid | 0.7812 | 0.5123 |" in text
    assert "| ctr | test | 0.7746 | 0.5188 |" in text
    # training
    assert "14,000 samples/s" in text and "1 min 21 s" in text and "| `batch_size` | 512 |" in text
    # images and warnings
    assert "![learning curves](curves.png)" in text
    assert "![attention weight histograms](attention.png)" in text
    assert "> **Warning:** attention weights of `interest` are close to uniform" in text
    assert text.count("> **Warning:**") == 1
    assert "| `peaked` | none |" in text
    assert "| **4** (best) |" in text
    assert_png(run / "curves.png")
    assert_png(run / "attention.png")


def test_write_report_is_deterministic(tmp_path):
    first = write_report(tmp_path / "run", **report_inputs(tmp_path)).read_text()
    second = write_report(tmp_path / "run", **report_inputs(tmp_path)).read_text()
    other = write_report(tmp_path / "other", **report_inputs(tmp_path, diagram=None)).read_text()
    assert first == second
    assert "din_ctr.svg" not in other and str(tmp_path) not in first


def test_write_report_minimal_inputs(tmp_path):
    run = tmp_path / "bare"
    inputs = report_inputs(tmp_path, data={"train": {"files": [], "rows": 10, "label_rate": {}}, "fixes": []},
                           metrics={"valid": {"ctr": {"auc": 0.5}}}, attention={},
                           history={"val_loss": [0.7]}, timing={}, config={}, diagram=None,
                           spec_source="a ``` b")
    text = write_report(run, **inputs).read_text()
    assert "No rows were fixed or dropped." in text
    assert "The model has no attention pools." in text
    assert "| ctr | valid | 0.5000 | \u2014 |" in text
    assert "````text\na ``` b\n````" in text
    assert (run / "curves.png").exists() and not (run / "attention.png").exists()


def test_format_metrics_table_several_outputs():
    table = format_metrics_table({
        "test": {"ctr": {"auc": 0.8, "logloss": 0.45}, "cvr": {"auc": 0.7, "logloss": 0.2, "accuracy": 0.9}},
        "valid": {"ctr": {"auc": 0.81234, "logloss": 0.44444}, "cvr": {"auc": 0.71, "logloss": 0.21}},
    })
    assert table.splitlines() == [
        "| output | split | AUC | logloss | accuracy |",
        "| --- | --- | ---: | ---: | ---: |",
        "| ctr | valid | 0.8123 | 0.4444 | \u2014 |",
        "| ctr | test | 0.8000 | 0.4500 | \u2014 |",
        "| cvr | valid | 0.7100 | 0.2100 | \u2014 |",
        "| cvr | test | 0.7000 | 0.2000 | 0.9000 |",
    ]
