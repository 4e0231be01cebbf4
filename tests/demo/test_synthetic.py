"""The synthetic click log of `recdsl demo`: schema against specs/din.rec, determinism, and
the planted signal (the max-over-history view predicts clicks better than the average view)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import recdsl
from recdsl.demo.clicklog import SCHEMA, generate, history_similarity, oracle_probability, write_click_log
from recdsl.demo.world import GENRES, World, make_world

ROOT = Path(__file__).resolve().parents[2]
DIN = ROOT / "specs" / "din.rec"
USERS, ITEMS, ROWS = 2_000, 1_000, 20_000


@pytest.fixture(scope="module")
def world() -> World:
    return make_world(users=USERS, items=ITEMS, seed=7)


@pytest.fixture(scope="module")
def table(world) -> pa.Table:
    return generate(ROWS, np.random.default_rng(11), world)


@pytest.fixture(scope="module")
def spec():
    return recdsl.typecheck(DIN)


def lists(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, flat values) of a list column."""
    col = table.column(name)
    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    return lengths, pc.list_flatten(col).to_numpy(zero_copy_only=False)


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Rank-based ROC AUC (Mann-Whitney U) with average ranks for ties."""
    score = np.asarray(score, np.float64)
    label = np.asarray(label).astype(bool)
    order = np.argsort(score, kind="mergesort")
    _, inverse, counts = np.unique(score[order], return_inverse=True, return_counts=True)
    mean_rank = np.bincount(inverse, weights=np.arange(1, len(score) + 1)) / counts
    ranks = np.empty(len(score))
    ranks[order] = mean_rank[inverse]
    n_pos, n_neg = label.sum(), (~label).sum()
    return float((ranks[label].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def logistic_scores(features: np.ndarray, label: np.ndarray, steps: int = 300, lr: float = 0.5) -> np.ndarray:
    """Fit a logistic regression by full-batch gradient descent; the fitted logits."""
    x = (features - features.mean(0)) / (features.std(0) + 1e-9)
    x = np.hstack([x, np.ones((len(x), 1))])
    y = label.astype(np.float64)
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        w -= lr * x.T @ (p - y) / len(y)
    return x @ w


# ------------------------------------------------------------------------------ schema

def test_auc_helper():
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert auc(np.array([1.0, 1.0, 1.0, 1.0]), np.array([0, 1, 0, 1])) == pytest.approx(0.5)


def test_genres_match_the_vocab_file():
    assert GENRES == tuple(line for line in (ROOT / "specs" / "genres.txt").read_text().splitlines() if line)


def test_columns_are_the_spec_features_and_label(spec, table):
    features = [n.name for n in spec.nodes if n.kind == "feature"]
    label = spec.outputs[0].arg("label") or spec.outputs[0].name
    assert label == "ctr"
    assert table.column_names == features + [label]
    assert table.schema == SCHEMA
    assert table.num_rows == ROWS
    assert table.column("ctr").type == pa.int8()
    assert set(np.unique(table.column("ctr").to_numpy())) == {0, 1}
    for name in table.column_names:
        assert table.column(name).null_count == 0, name


def test_column_types_fit_each_feature(spec, table):
    features = {n.name: n for n in spec.nodes if n.kind == "feature"}
    for name, node in features.items():
        col = table.column(name)
        if node.op == "id":
            assert col.type == pa.int64(), name
            ids = col.to_numpy()
            assert ids.min() >= 1 and ids.max() < node.arg("buckets"), name
        elif node.op == "category" and node.arg("vocab") is not None:
            assert col.type == pa.string(), name
            assert set(col.to_pylist()) == set(node.arg("vocab")), name
        elif node.op == "category":
            assert col.type == pa.int64(), name
            values = col.to_numpy()
            assert values.min() >= 0 and values.max() < node.arg("size"), name
        elif node.op == "numeric":
            assert col.type == pa.float32(), name
        elif node.op == "multi":
            assert col.type == pa.list_(pa.string()), name
            lengths, values = lists(table, name)
            assert 1 <= lengths.min() and lengths.max() <= min(3, node.arg("max_len")), name
            vocab = (DIN.parent / node.arg("of")["vocab_file"]).read_text().split()
            assert set(values) <= set(vocab), name
        elif node.op == "sequence":
            of = features[node.arg("of")]
            assert col.type == pa.list_(table.schema.field(of.name).type), name
            lengths, _ = lists(table, name)
            assert 5 <= lengths.min() and lengths.max() <= node.arg("max_len") == 50, name
            assert len(np.unique(lengths)) > 20, "history lengths vary"
        else:
            pytest.fail(f"unexpected feature op {node.op} for {name}")


def test_value_ranges(table):
    age = table.column("age").to_numpy()
    assert 18 <= age.min() and age.max() <= 70
    assert age.std() > 5
    occupation = table.column("occupation").to_numpy()
    assert occupation.min() >= 0 and occupation.max() <= 20 and len(np.unique(occupation)) > 15
    assert table.column("user_id").to_numpy().max() <= USERS
    assert table.column("item_id").to_numpy().max() <= ITEMS
    assert len(np.unique(table.column("item_cate").to_numpy())) == 20
    assert set(table.column("gender").to_pylist()) == {"M", "F"}
    for genres in table.column("genres").to_pylist()[:2000]:
        assert len(set(genres)) == len(genres)


def test_history_categories_are_the_items_categories(table, world):
    item_len, items = lists(table, "hist_items")
    cate_len, cates = lists(table, "hist_cates")
    assert np.array_equal(item_len, cate_len)
    assert items.min() >= 1 and items.max() <= ITEMS
    assert np.array_equal(cates, world.item_cate[items - 1])
    # one category per item, the same for candidates and history items
    all_items = np.concatenate([items, table.column("item_id").to_numpy()])
    all_cates = np.concatenate([cates, table.column("item_cate").to_numpy()])
    pairs = np.unique(np.stack([all_items, all_cates]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1]


def test_items_and_users_recur(table):
    """Ids mean something: each item and user is seen often enough to learn an embedding."""
    _, hist = lists(table, "hist_items")
    item_counts = np.bincount(np.concatenate([hist, table.column("item_id").to_numpy()]), minlength=ITEMS + 1)[1:]
    assert (item_counts > 0).mean() > 0.99
    assert np.median(item_counts) > 50
    users = np.bincount(table.column("user_id").to_numpy(), minlength=USERS + 1)[1:]
    assert np.median(users) >= 5


def test_user_attributes_are_per_user(table):
    user = table.column("user_id").to_numpy()
    for name in ("gender", "age", "occupation"):
        values = table.column(name).to_pylist()
        seen: dict = {}
        for u, v in zip(user, values):
            assert seen.setdefault(u, v) == v, name


# ------------------------------------------------------------------------------ determinism

def test_same_seed_same_table_different_seed_different(world):
    a = generate(2_000, np.random.default_rng(3), world)
    b = generate(2_000, np.random.default_rng(3), world)
    c = generate(2_000, np.random.default_rng(4), world)
    assert a.equals(b)
    assert not a.equals(c)
    other = make_world(users=USERS, items=ITEMS, seed=8)
    assert not a.equals(generate(2_000, np.random.default_rng(3), other))


def test_write_click_log(tmp_path):
    sizes = dict(users=500, items=300, rows_train=9_000, rows_valid=1_000, rows_test=1_200)
    paths = write_click_log(tmp_path / "a", seed=5, **sizes)
    assert set(paths) == {"train", "valid", "test"}
    assert all(p == tmp_path / "a" / f"{name}.parquet" and p.exists() for name, p in paths.items())
    tables = {name: pq.read_table(p) for name, p in paths.items()}
    assert {name: t.num_rows for name, t in tables.items()} == {"train": 9_000, "valid": 1_000, "test": 1_200}
    meta = pq.ParquetFile(paths["train"]).metadata
    assert meta.num_row_groups == 2 and meta.row_group(0).num_rows == 8192
    for t in tables.values():
        assert t.schema.remove_metadata() == SCHEMA
    # the splits differ but share one world: each item keeps its category everywhere
    assert not tables["valid"].equals(tables["test"])
    cate = {}
    for t in tables.values():
        for item, c in zip(t.column("item_id").to_numpy(), t.column("item_cate").to_numpy()):
            assert cate.setdefault(item, c) == c

    again = write_click_log(tmp_path / "b", seed=5, **sizes)
    other = write_click_log(tmp_path / "c", seed=6, **sizes)
    for name in paths:
        assert pq.read_table(again[name]).equals(tables[name])
        assert not pq.read_table(other[name]).equals(tables[name])


def test_max_len_bounds_the_history(tmp_path):
    paths = write_click_log(tmp_path, users=300, items=200, rows_train=2_000, rows_valid=100,
                            rows_test=100, max_len=8)
    t = pq.read_table(paths["train"])
    for name in ("hist_items", "hist_cates"):
        lengths, _ = lists(t, name)
        assert 5 <= lengths.min() and lengths.max() <= 8


def test_too_few_items_is_refused():
    with pytest.raises(ValueError, match="items"):
        make_world(items=50)


# ------------------------------------------------------------------------------ signal

def test_positive_rate(table):
    rate = table.column("ctr").to_numpy().mean()
    assert 0.25 <= rate <= 0.40


def test_labels_follow_the_oracle(table, world):
    label = table.column("ctr").to_numpy()
    p = oracle_probability(table, world)
    assert p.shape == (ROWS,) and 0 < p.min() and p.max() < 1
    assert abs(p.mean() - label.mean()) < 0.02
    assert auc(p, label) > 0.75


def test_max_over_history_beats_the_average(table, world):
    """What makes DIN win: the candidate's similarity to its MOST similar history item
    predicts a click better than its average similarity to the history (what avg pooling
    sees), alone and with the category-match counterpart of each view."""
    label = table.column("ctr").to_numpy()
    max_sim, mean_sim = history_similarity(table, world)
    assert auc(max_sim, label) > auc(mean_sim, label) + 0.02

    lengths, hist_cates = lists(table, "hist_cates")
    same = (hist_cates == np.repeat(table.column("item_cate").to_numpy(), lengths)).astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    any_match = np.maximum.reduceat(same, starts)
    fraction = np.add.reduceat(same, starts) / lengths

    attention_view = logistic_scores(np.stack([max_sim, any_match], 1), label)
    pooling_view = logistic_scores(np.stack([mean_sim, fraction], 1), label)
    assert auc(attention_view, label) > auc(pooling_view, label) + 0.02
