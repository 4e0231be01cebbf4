import keras
import numpy as np
import pytest

from recdsl.layers import embedding as embedding_module
from recdsl.layers.embedding import FeatureEmbedding, NumericFeature
from recdsl.ops.context import TableInfo
from recdsl.ops.types import FieldType

from .layer_check import (
    assert_close,
    check_layer,
    check_mixed,
    randomize,
    registry_count,
    rng,
    to_numpy,
    trainable_count,
    weight,
)

B, L = 6, 5


def test_id_feature_lookup_and_count(tmp_path):
    rows, dim = 12, 4                      # id(buckets=10) -> 10 + 2 reserved rows
    idx = rng(1).integers(0, rows, size=(B,)).astype("int32")
    layer = FeatureEmbedding(rows, dim)
    out = check_layer(layer, idx, params=registry_count("id", {}, {"buckets": 10, "dim": dim}), tmp_path=tmp_path)
    assert_close(out, weight(layer.embeddings)[idx])


def test_category_count_and_shared_table_on_field_and_sequence(tmp_path):
    layer = FeatureEmbedding(7, 3)
    seq = rng(2).integers(0, 7, size=(B, L)).astype("int32")
    out = check_layer(layer, seq, tmp_path=tmp_path)
    assert out.shape == (B, L, 3)
    assert_close(out, weight(layer.embeddings)[seq])
    field = to_numpy(layer(seq[:, 0]))
    assert_close(field, weight(layer.embeddings)[seq[:, 0]])
    assert trainable_count(layer) == registry_count("category", {}, {"vocab": ["a", "b", "c", "d", "e"], "dim": 3})
    shared = registry_count("sequence", {}, {"max_len": L}, context={"table": TableInfo(FieldType(3), 21)})
    assert shared == 21


def reference_penalty(table, freq, idx, l2):
    used = sorted(set(int(i) for i in np.ravel(idx)) - {0})
    return l2 * sum(np.sum(table[j] ** 2) / freq[j] for j in used)


@pytest.fixture(params=["per row", "per position"])
def penalty_path(request, monkeypatch):
    """Both ways FeatureEmbedding computes its penalty (small tables over rows, large per position)."""
    if request.param == "per position":
        monkeypatch.setattr(embedding_module, "ROW_PENALTY_LIMIT", 0)
    return request.param


@pytest.mark.parametrize("shape", [(B,), (B, L)])
def test_mini_batch_aware_l2(shape, penalty_path):
    rows, dim, l2 = 9, 4, 0.3
    layer = FeatureEmbedding(rows, dim, l2=l2)
    idx = rng(3).integers(0, 4, size=shape).astype("int32")    # repeats and padding rows
    idx.flat[0] = 0
    layer.build(None)
    randomize(layer, 4)
    layer(idx)
    assert len(layer.losses) == 1
    expected = reference_penalty(weight(layer.embeddings), weight(layer.row_frequency), idx, l2)
    assert_close(to_numpy(layer.losses[0]), expected)


def test_mini_batch_aware_l2_gradient(penalty_path):
    """d penalty / d E_j = 2 l2 E_j / n_j for the used rows but padding, 0 elsewhere."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("reads the penalty's gradient with tf.GradientTape")
    import tensorflow as tf

    rows, dim, l2 = 9, 3, 0.2
    layer = FeatureEmbedding(rows, dim, l2=l2)
    layer.build(None)
    randomize(layer, 5)
    freq = np.arange(1, rows + 1, dtype="float32")
    layer.row_frequency.assign(freq)
    idx = np.array([[0, 2, 2, 7], [3, 0, 0, 2]], dtype="int32")
    with tf.GradientTape() as tape:
        layer(idx)
        penalty = layer.losses[0]
    grad = tf.convert_to_tensor(tape.gradient(penalty, layer.embeddings.value)).numpy()
    table = weight(layer.embeddings)
    want = np.zeros_like(table)
    for j in (2, 3, 7):
        want[j] = 2 * l2 * table[j] / freq[j]
    np.testing.assert_allclose(grad, want, rtol=1e-5, atol=1e-7)


def test_l2_reaches_model_losses(tmp_path):
    layer = FeatureEmbedding(6, 2, l2=0.1)
    ids = keras.Input(shape=(), dtype="int32")
    model = keras.Model(ids, layer(ids))
    idx = np.array([0, 2, 2, 5], dtype="int32")
    model(idx)
    expected = reference_penalty(weight(layer.embeddings), np.ones(6), idx, 0.1)
    assert_close(sum(to_numpy(l) for l in model.losses), expected)
    check_layer(FeatureEmbedding(6, 2, l2=0.1), idx, tmp_path=tmp_path)


def test_no_penalty_without_l2():
    layer = FeatureEmbedding(5, 2)
    layer(np.array([1, 2], dtype="int32"))
    assert not layer.losses


def test_numeric_dense(tmp_path):
    x = rng(5).normal(size=(B, 3)).astype("float32")
    params = registry_count("numeric", {}, {"size": 3})
    out = check_layer(NumericFeature("dense", size=3), x, params=params, tmp_path=tmp_path)
    assert_close(out, x)
    assert to_numpy(NumericFeature("dense")(x[:, 0])).shape == (B, 1)


def test_numeric_project(tmp_path):
    x = rng(6).normal(size=(B, 2)).astype("float32")
    layer = NumericFeature("project", size=2, dim=4)
    params = registry_count("numeric", {}, {"size": 2, "dim": 4})
    out = check_layer(layer, x, params=params, tmp_path=tmp_path)
    assert_close(out, x @ weight(layer.kernel))


def test_numeric_bucket(tmp_path):
    boundaries = [0, 10, 20]                 # 4 buckets + 2 reserved rows
    layer = NumericFeature("bucket", dim=3, rows=len(boundaries) + 3)
    idx = rng(7).integers(0, 6, size=(B,)).astype("int32")
    params = registry_count("numeric", {}, {"boundaries": boundaries, "dim": 3})
    out = check_layer(layer, idx, params=params, tmp_path=tmp_path)
    assert_close(out, weight(layer.embeddings)[idx])


def test_bad_numeric_config():
    with pytest.raises(ValueError):
        NumericFeature("project", size=2)
    with pytest.raises(ValueError):
        NumericFeature("bucket", dim=2)


def test_mixed_precision():
    idx = rng(8).integers(0, 6, size=(B, L)).astype("int32")
    check_mixed(lambda dtype: FeatureEmbedding(6, 4, l2=0.01, dtype=dtype), idx)
    x = rng(9).normal(size=(B, 2)).astype("float32")
    check_mixed(lambda dtype: NumericFeature("project", size=2, dim=4, dtype=dtype), x)


def test_a_list_call_penalises_each_used_row_once(penalty_path):
    """The target [B] and the history [B, L] through one call: row 2 is in both, counted once."""
    rows, dim, l2 = 9, 3, 0.25
    layer = FeatureEmbedding(rows, dim, l2=l2)
    layer.build(None)
    randomize(layer, 6)
    freq = np.array([1, 1, 4, 2, 3, 1, 5, 2, 7], dtype="float32")
    layer.row_frequency.assign(freq)
    target = np.array([2, 5, 3], dtype="int32")
    history = np.array([[2, 2, 0, 0], [7, 2, 5, 0], [0, 0, 0, 0]], dtype="int32")
    vectors = layer([target, history])
    table = weight(layer.embeddings)
    assert_close(to_numpy(vectors[0]), table[target])
    assert_close(to_numpy(vectors[1]), table[history])
    assert len(layer.losses) == 1
    union = {2, 3, 5, 7}
    assert_close(to_numpy(layer.losses[0]), l2 * sum(np.sum(table[j] ** 2) / freq[j] for j in union))


SHARED_L2 = """\
model shared_l2
feature item_id    : id(buckets=20, dim=4, l2=0.5)
feature hist_items : sequence(of=item_id, max_len=4)
pool interest = avg(hist_items)
output ctr = sigmoid(concat(item_id, interest))
"""


def test_a_table_shared_by_the_target_and_the_history_is_penalised_once(tmp_path):
    """A spec's table with l2= and a sequence of it: one penalty per batch over the rows either uses."""
    import recdsl
    from recdsl.emitter import emit

    path = tmp_path / "shared_l2.rec"
    path.write_text(SHARED_L2)
    model = emit(recdsl.typecheck(path))
    layer = model.get_layer("item_id-embed")
    randomize(layer, 7)
    freq = np.arange(1, layer.rows + 1, dtype="float32")
    layer.row_frequency.assign(freq)
    item = np.array([3, 4, 9], dtype="int32")
    hist = np.array([[3, 3, 5, 0], [4, 0, 0, 0], [0, 0, 0, 0]], dtype="int32")
    model({"item_id": item, "hist_items": hist})
    table = weight(layer.embeddings)
    expected = 0.5 * sum(np.sum(table[j] ** 2) / freq[j] for j in (3, 4, 5, 9))
    assert len(model.losses) == 1
    assert_close(to_numpy(model.losses[0]), expected)
