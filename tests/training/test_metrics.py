"""Exact metrics (recdsl.training.metrics) against brute-force references: AUC as the pairwise
probability with ties 1/2, logloss and RMSE from their formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest

from recdsl.training.metrics import EPS, auc, logloss, output_metrics, rmse


def pairwise_auc(labels, scores) -> float:
    """P(score of a positive > score of a negative) + 1/2 P(equal), over every pair: O(n^2)."""
    pos = [s for y, s in zip(labels, scores) if y >= 0.5]
    neg = [s for y, s in zip(labels, scores) if y < 0.5]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(8))
def test_auc_equals_the_pairwise_count_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]  # both classes
    # few distinct scores: most pairs are ties; and a signal so AUC is not ~0.5
    scores = np.round(rng.random(n) * int(rng.integers(1, 8)) + 0.3 * labels, 1)
    assert len(np.unique(scores)) < n / 2 or n < 20
    assert auc(labels, scores) == pytest.approx(pairwise_auc(labels.tolist(), scores.tolist()), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_auc_with_continuous_scores_and_shapes(seed):
    rng = np.random.default_rng(100 + seed)
    labels = rng.integers(0, 2, 200).astype("float32")
    scores = rng.random(200).astype("float32")
    want = pairwise_auc(labels.tolist(), scores.tolist())
    assert auc(labels, scores) == pytest.approx(want, abs=1e-12)
    # column vectors (as Keras predicts them) and lists give the same
    assert auc(labels[:, None], scores[:, None]) == pytest.approx(want, abs=1e-12)
    assert auc(labels.tolist(), scores.tolist()) == pytest.approx(want, abs=1e-12)


def test_auc_hand_computed():
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auc([0, 1], [0.2, 0.9]) == 1.0
    assert auc([0, 1], [0.9, 0.2]) == 0.0
    assert auc([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5]) == 0.5
    # pos {0.5, 0.7}, neg {0.5, 0.2}: pairs 0.5/0.5 tie, 0.5>0.2, 0.7>0.5, 0.7>0.2 -> 3.5/4
    assert auc([1, 1, 0, 0], [0.5, 0.7, 0.5, 0.2]) == 0.875


def test_auc_does_not_depend_on_the_order_or_a_monotone_transform():
    rng = np.random.default_rng(5)
    labels, scores = rng.integers(0, 2, 100), rng.normal(size=100)
    perm = rng.permutation(100)
    assert auc(labels[perm], scores[perm]) == pytest.approx(auc(labels, scores), abs=1e-12)
    assert auc(labels, 1 / (1 + np.exp(-3 * scores))) == pytest.approx(auc(labels, scores), abs=1e-12)
    assert auc(1 - labels, scores) == pytest.approx(1 - auc(labels, scores), abs=1e-12)


@pytest.mark.parametrize("labels", [[1, 1, 1], [0, 0, 0, 0], [0.2, 0.1]])
def test_auc_is_nan_with_one_class(labels):
    assert math.isnan(auc(labels, np.linspace(0, 1, len(labels))))


def test_probability_labels_count_as_positive_from_one_half():
    assert auc([0.2, 0.5, 0.9, 0.4], [0.1, 0.6, 0.8, 0.3]) == 1.0
    assert auc([0.2, 0.5, 0.9, 0.4], [0.1, 0.6, 0.8, 0.3]) == auc([0, 1, 1, 0], [0.1, 0.6, 0.8, 0.3])


@pytest.mark.parametrize("seed", range(3))
def test_logloss_is_the_mean_binary_cross_entropy(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 50)
    p = rng.uniform(0.01, 0.99, 50)
    want = -sum(math.log(pi) if yi else math.log(1 - pi) for yi, pi in zip(y, p)) / 50
    assert logloss(y, p) == pytest.approx(want, rel=1e-12)
    assert logloss(y[:, None], p[:, None]) == pytest.approx(want, rel=1e-12)


def test_logloss_hand_computed_and_clipped():
    assert logloss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert logloss([1, 0, 1], [0.9, 0.2, 0.6]) == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.6)) / 3)
    # scores of exactly 0 or 1 are clipped to [EPS, 1 - EPS]: finite, not inf
    assert logloss([1, 0], [0.0, 1.0]) == pytest.approx(-math.log(EPS), rel=1e-6)
    assert logloss([1, 0], [1.0, 0.0]) == pytest.approx(-math.log(1 - EPS), rel=1e-6)
    # soft labels: the cross entropy of the label distribution
    assert logloss([0.25], [0.5]) == pytest.approx(math.log(2))


def test_rmse():
    assert rmse([1, 2, 3], [1, 2, 3]) == 0.0
    assert rmse([0, 0, 0, 0], [1, -1, 1, -1]) == 1.0
    assert rmse([1.0, 2.0], [2.0, 4.0]) == pytest.approx(math.sqrt((1 + 4) / 2))
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=40), rng.normal(size=40)
    assert rmse(y[:, None], p) == pytest.approx(math.sqrt(sum((a - b) ** 2 for a, b in zip(y, p)) / 40))


def test_output_metrics_by_loss():
    y, p = [0, 1, 1, 0], [0.2, 0.7, 0.6, 0.4]
    assert output_metrics("binary", y, p) == {"auc": auc(y, p), "logloss": logloss(y, p)}
    assert output_metrics("mse", [1.0, 3.0], [2.0, 3.0]) == {"rmse": pytest.approx(math.sqrt(0.5))}
