"""A component added from outside the package: one Keras layer and one registry entry, both in
this module, and nothing else. The spec that uses it checks, draws, builds to the numpy formula
(masks included), trains, saves, reloads, reports its attention weights and exports for serving.

The toy op is a two-slot pool with a masked sequence, the case the emitter once got wrong
(only the first slot reached the layer, and no mask):

    w_l = sigmoid(q . k_l / temperature) * m_l
    out = sum_l w_l k_l / max(1, sum_l m_l)                  [B, d]
"""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from keras import ops  # noqa: E402

import recdsl  # noqa: E402
from recdsl.emitter import emit  # noqa: E402
from recdsl.ops.params import Param  # noqa: E402
from recdsl.ops.registry import REGISTRY, Attention, Input, OpSpec, register  # noqa: E402
from recdsl.ops.types import FieldType  # noqa: E402

from ..cli_call import call  # noqa: E402
from ..training.test_train_cli import click_log  # noqa: E402

pytestmark = [pytest.mark.slow,  # trains and exports a model
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]


@keras.saving.register_keras_serializable(package="recdsl_toy")
class ToyGatedPool(keras.layers.Layer):
    def __init__(self, temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = temperature

    def attention_weights(self, inputs, mask=None):
        query, keys = inputs
        m = ops.cast(mask, keys.dtype)
        score = ops.sum(ops.expand_dims(query, 1) * keys, axis=-1) / self.temperature
        return ops.sigmoid(score) * m

    def call(self, inputs, mask=None):
        keys = inputs[1]
        w = self.attention_weights(inputs, mask)
        count = ops.maximum(ops.sum(ops.cast(mask, keys.dtype), axis=1, keepdims=True), 1.0)
        return ops.sum(ops.expand_dims(w, -1) * keys, axis=1) / count

    def compute_output_shape(self, input_shape):
        return input_shape[1][:1] + input_shape[1][2:]

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


TOY = OpSpec(
    name="toy_gated", family="pool", label="toy gated pool",
    summary="sigmoid-gated masked mean of the keys (a test op)",
    inputs=(Input("query", "query"), Input("keys", "sequence", mask="consume")),
    params=(Param("temperature", "float", 1.0, low=0.01),),
    infer=lambda ctx: FieldType(ctx.inp("keys").dim),
    count=lambda ctx, out: 0,
    layer=f"{__name__}:ToyGatedPool", key_args=("temperature",),
    attention=Attention(normalize=lambda args: "none"),
)

SPEC = """model toy "a component from outside the package"
feature item : id(buckets=50, dim=4)
feature cat  : category(vocab=["a", "b"], dim=4)
feature hist : sequence(of=item, max_len=5)
pool gated = toy_gated(query=item, keys=hist, temperature=2.0)
output click = sigmoid(mlp([item, cat, gated], units=[8]))
"""


@pytest.fixture(scope="module")
def toy_op():
    register(TOY)
    try:
        yield TOY
    finally:
        REGISTRY.pop(TOY.name)


@pytest.fixture(scope="module")
def world(toy_op, tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    spec = root / "toy.rec"
    spec.write_text(SPEC, encoding="utf-8")
    train, valid = root / "train.parquet", root / "valid.parquet"
    pq.write_table(click_log(300, 1), train)
    pq.write_table(click_log(100, 2), valid)
    return root, spec, train, valid


def reference(query, keys, ids, temperature):
    mask = (ids != 0).astype("float64")
    w = 1.0 / (1.0 + np.exp(-(np.einsum("bd,bld->bl", query, keys) / temperature))) * mask
    return np.einsum("bl,bld->bd", w, keys) / np.maximum(mask.sum(1, keepdims=True), 1.0)


def test_check_and_diagram(world):
    root, spec, _, _ = world
    code, out, err = call(["check", spec])
    assert code == 0, err
    assert recdsl.typecheck(spec).node("gated").type == FieldType(4)
    code, out, err = call(["render", spec, "-o", root / "toy.dot"])
    assert code == 0, err
    dot = (root / "toy.dot").read_text()
    assert "toy gated pool" in dot and "temperature=2" in dot


def test_both_slots_and_the_mask_reach_the_layer(world):
    _, spec, _, _ = world
    model = emit(recdsl.typecheck(spec))
    layer = model.get_layer("gated")
    assert layer.temperature == 2.0
    table = keras.ops.convert_to_numpy(model.get_layer("item-embed").embeddings)
    ids = np.array([[3, 4, 0, 0, 0], [0, 0, 0, 0, 0], [5, 6, 7, 8, 9]], dtype="int32")  # all-padding row too
    items = np.array([2, 3, 4], dtype="int32")
    probe = keras.Model(model.inputs, layer.output)
    got = probe.predict({"item": items, "cat": np.array([2, 2, 3], dtype="int32"), "hist": ids}, verbose=0)
    keys = table[ids] * (ids != 0)[..., None]
    np.testing.assert_allclose(got, reference(table[items], keys, ids, 2.0), rtol=1e-5, atol=1e-6)
    one = probe.predict({"item": items[:1], "cat": np.array([2], dtype="int32"), "hist": ids[:1]}, verbose=0)
    np.testing.assert_allclose(one, got[:1], rtol=1e-5, atol=1e-6)  # a batch of 1

    # the run report's diagnostics find the pool through its declaration and call its method
    from recdsl.training.diagnostics import attention_weights

    feed = {"item": items, "cat": np.array([2, 2, 3], dtype="int32"), "hist": ids}
    weights, mask, normalize = attention_weights(model, recdsl.typecheck(spec), feed, rows=3)["gated"]
    score = np.einsum("bd,bld->bl", table[items], keys) / 2.0
    np.testing.assert_allclose(weights, 1.0 / (1.0 + np.exp(-score)) * (ids != 0), rtol=1e-5, atol=1e-6)
    assert (mask == (ids != 0)).all() and normalize == "none"


def test_train_reload_report_and_export(world):
    root, spec, train, valid = world
    out = root / "run"
    code, stdout, err = call(["train", spec, "--train", train, "--valid", valid, "-o", out, "--epochs", "2",
                              "--batch-size", "64", "--lr", "0.01", "-q"])
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["valid"]["click"]["auc"] > 0.6  # the planted cat signal is learned
    report = (out / "report.md").read_text()
    section = report[report.index("## Attention diagnostics"):]
    assert "no attention pools" not in section and "gated" in section

    model = recdsl.load_model(out / "model.keras")
    assert isinstance(model.get_layer("gated"), ToyGatedPool)
    assert model.get_layer("gated").temperature == 2.0
    scores = root / "scores.parquet"
    code, _, err = call(["predict", out, "--data", valid, "-o", scores])
    assert code == 0, err

    code, _, err = call(["export", out, "-o", root / "serving"])
    assert code == 0, err
    import tensorflow as tf

    served = tf.saved_model.load(str(root / "serving")).signatures["serving_default"]
    table = pq.read_table(valid)
    hist = table["hist"].to_pylist()
    got = served(item=tf.constant(table["item"].to_numpy()), cat=tf.constant(table["cat"].to_pylist()),
                 hist=tf.constant(np.concatenate([np.asarray(h, dtype="int64") for h in hist])),
                 hist_lengths=tf.constant([len(h) for h in hist], dtype=tf.int64))["click"].numpy().reshape(-1)
    want = pq.read_table(scores)["click"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
