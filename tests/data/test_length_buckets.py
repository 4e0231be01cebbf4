"""Length buckets (run setting `length_buckets`): batches of rows of similar sequence length,
cut to the batch's longest used length rounded up to a multiple of the bucket step.

Checked here: the used length of a hand-made array; that the emitted model gives the same
scores whatever the padded length (DIN with Dice, target attention, transformer, pooling);
that the cached and the streamed bucketed datasets give every row exactly once per
epoch, only ever cut padding, keep rows of one bucket together and are reproducible."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recdsl
from recdsl.data.errors import FixLog
from recdsl.data.pipeline import Split, bucketed_inputs, used_lengths
from recdsl.data.preprocess import Preprocessor
from recdsl.data.schema import schema_of
from recdsl.data.source import read

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

SPEC = """model buckets
feature key  : numeric()
feature item : id(buckets=50, dim=4)
feature cat  : category(size=5, dim=4)
feature hist : sequence(of=item, max_len=12)
feature hcat : sequence(of=cat, max_len=12)
feature tags : multi(of=cat, max_len=3)
pool interest = din(query=[item, cat], keys=[hist, hcat], units=[8, 4], activation=dice, normalize=softmax)
pool target   = attention(query=item, keys=hist, score=scaled_dot)
block encoded = transformer(hist, heads=2, layers=1)
pool context  = avg(encoded)
pool tag_vec  = sum(tags)
output y = sigmoid(mlp([key, item, interest, target, context, tag_vec], units=[4]))
"""
STEP, MAX_LEN, ROWS, BATCH = 4, 12, 90, 16


class World:
    """The spec, a fitted preprocessor and the cached split, shared by this module's tests."""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World()
    w.dir = tmp_path_factory.mktemp("buckets")
    (w.dir / "b.rec").write_text(SPEC, encoding="utf-8")
    w.spec = recdsl.typecheck(w.dir / "b.rec")
    w.schema = schema_of(w.spec)
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, MAX_LEN + 1, ROWS)
    lengths[:5] = MAX_LEN + 3  # over-long lists: the newest MAX_LEN are kept
    data = {
        "key": np.arange(ROWS, dtype="float64"),  # a row's identity
        "item": rng.integers(0, 500, ROWS),
        "cat": rng.integers(0, 5, ROWS),
        "hist": [rng.integers(0, 500, n).tolist() for n in lengths],
        "hcat": [rng.integers(0, 5, n).tolist() for n in lengths],
        "tags": [rng.integers(0, 5, rng.integers(0, 4)).tolist() for _ in range(ROWS)],
        "y": rng.integers(0, 2, ROWS).astype("float64"),
    }
    w.path = w.dir / "train.parquet"
    pq.write_table(pa.table(data), w.path)
    w.pre = Preprocessor.fit(read(w.path, w.schema, FixLog()), w.schema)
    w.split = Split("train", w.path, w.pre).load()
    w.lengths = np.minimum(lengths, MAX_LEN)
    return w


def test_used_length_is_the_last_non_padding_position_plus_one():
    ids = np.array([[5, 3, 0, 0], [0, 0, 0, 0], [7, 7, 7, 7], [1, 0, 0, 0]])
    assert used_lengths(ids).tolist() == [2, 0, 4, 1]


def test_only_lists_longer_than_one_bucket_are_cut(world):
    assert bucketed_inputs(world.schema, STEP) == ["hist", "hcat"]  # tags (max_len 3) is never cut
    assert bucketed_inputs(world.schema, 0) == []
    assert bucketed_inputs(world.schema, MAX_LEN) == []


def test_the_model_scores_a_row_the_same_at_any_padded_length(world):
    from recdsl.emitter import emit

    keras.utils.set_random_seed(3)
    model = emit(world.spec)
    x = world.split.inputs
    full = np.asarray(model.predict(x, verbose=0)["y"])
    longest = int(world.lengths.max())
    assert longest == MAX_LEN
    short = np.nonzero(world.lengths <= 5)[0]
    for width in (5, 8):  # every row of `short` fits in either width
        cut = {k: v[short] for k, v in x.items()}
        for name in ("hist", "hcat"):
            assert not cut[name][:, width:].any()
            cut[name] = cut[name][:, :width]
        got = np.asarray(model.predict(cut, verbose=0)["y"])
        np.testing.assert_allclose(got, full[short], rtol=1e-5, atol=1e-6)


def rows_of(x) -> np.ndarray:
    """The source rows of a batch (its `key` column)."""
    return x["key"][:, 0].astype(int)


def as_numpy(batch):
    x, y = batch
    return {k: v.numpy() for k, v in x.items()}, y["y"].numpy()


def epoch(ds):
    """The batches of one pass over a finite dataset: list of (inputs, labels) as numpy."""
    return [as_numpy(b) for b in ds]


def stream_epochs(split, count: int, length_buckets: int, seed: int):
    """`count` epochs of split.training_dataset (endless), read from one iterator as fit does."""
    it = iter(split.training_dataset(BATCH, length_buckets, seed))
    return [[as_numpy(next(it)) for _ in range(split.batches_per_epoch(BATCH))] for _ in range(count)]


def check_epoch(world, batches, sizes_fixed: bool):
    seen = []
    for x, y in batches:
        rows = rows_of(x)
        seen += rows.tolist()
        width = x["hist"].shape[1]
        used = world.lengths[rows]
        assert width % STEP == 0 and width <= MAX_LEN and x["hcat"].shape[1] == width
        assert used.max() <= width < max(used.max(), 1) + STEP  # the batch's longest, rounded up
        for name in ("hist", "hcat", "tags"):  # only padding was cut
            full = world.split.inputs[name][rows]
            np.testing.assert_array_equal(x[name], full[:, :x[name].shape[1]])
            assert not full[:, x[name].shape[1]:].any()
        np.testing.assert_array_equal(y, world.split.targets["y"][rows])
        if sizes_fixed:
            assert len(rows) in (BATCH, ROWS % BATCH)
    assert sorted(seen) == list(range(ROWS))  # every row exactly once
    return seen


def test_cached_batches_group_rows_by_length_and_reshuffle_each_epoch(world):
    assert world.split.batches_per_epoch(BATCH) == -(-ROWS // BATCH) == 6
    first, second, third = stream_epochs(world.split, 3, STEP, seed=7)
    order = [check_epoch(world, b, sizes_fixed=True) for b in (first, second, third)]
    assert order[0] != order[1] != order[2]
    # sorted by length before cutting into batches: batches' length ranges do not interleave
    spans = sorted((world.lengths[rows_of(x)].min(), world.lengths[rows_of(x)].max()) for x, _ in first)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    again = stream_epochs(world.split, 1, STEP, seed=7)[0]
    assert [x["key"].tolist() for x, _ in again] == [x["key"].tolist() for x, _ in first]


def test_streamed_batches_hold_one_bucket_each(world):
    split = Split("train", world.path, world.pre)
    batches = epoch(split.dataset(BATCH, shuffle_buffer=32, seed=5, length_buckets=STEP))
    check_epoch(world, batches, sizes_fixed=False)
    for x, _ in batches:
        buckets = {max(n - 1, 0) // STEP for n in world.lengths[rows_of(x)]}
        assert len(buckets) == 1


@pytest.mark.parametrize("length_buckets", [0, MAX_LEN])  # off; no list is longer than 12
def test_without_buckets_every_epoch_is_a_new_random_order_at_full_width(world, length_buckets):
    epochs = stream_epochs(world.split, 2, length_buckets, seed=2)
    orders = []
    for batches in epochs:
        rows = [int(k) for x, _ in batches for k in rows_of(x)]
        assert sorted(rows) == list(range(ROWS)) and rows != list(range(ROWS))
        assert all(x["hist"].shape[1] == MAX_LEN for x, _ in batches)
        assert [len(rows_of(x)) for x, _ in batches] == [BATCH] * 5 + [ROWS % BATCH]
        orders.append(rows)
    assert orders[0] != orders[1]
