"""Outputs without a loss: `attention_weights(NODE)` as a model output (the numbers the attention
layer uses, against numpy and against the run report's diagnostics; 0 at padding; saved and
reloaded) and label-free weight=0 heads (the schema asks no column, the compiled loss is the
labelled outputs' weighted sum, computed by hand)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import recdsl

DIN = """model w "weights output"
feature item : id(buckets=50, dim=4)
feature hist : sequence(of=item, max_len=5)
pool interest = din(query=item, keys=hist, units=[6, 3], activation=sigmoid)
output click = sigmoid(mlp([item, interest], units=[4]))
output alphas = attention_weights(interest)
"""
OTHERS = """model w "weights of the other attention ops"
feature item : id(buckets=50, dim=4)
feature hist : sequence(of=item, max_len=5)
pool target = attention(query=item, keys=hist, score=bilinear)
pool plain = traditional_attention(hist, units=3)
block mixed = self_attention(hist, heads=2, style=standard)
block crossed = cross_attention(query=hist, keys=hist, heads=2, style=standard)
pool mixed_vec = avg(mixed)
pool crossed_vec = avg(crossed)
output click = sigmoid(mlp([item, target, plain, mixed_vec, crossed_vec], units=[4]))
output w_target = attention_weights(target)
output w_plain = attention_weights(plain)
output w_mixed = attention_weights(mixed)
output w_crossed = attention_weights(crossed)
"""


def spec_of(tmp_path, text: str, name: str = "spec.rec"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return recdsl.typecheck(path)


def randomised(model, seed: int = 0):
    """Every weight (biases and slopes included) set to fresh random values."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0.0, 0.7, tuple(w.shape)).astype(w.dtype))
    return model


def batch(rows: int = 6, seed: int = 1) -> dict:
    """Rows of ids with padded histories: row 1 keeps 2 positions, row 2 none (all padding)."""
    rng = np.random.default_rng(seed)
    hist = rng.integers(2, 50, (rows, 5)).astype("int32")
    hist[1 % rows, 2:] = 0
    if rows > 2:
        hist[2] = 0
    return {"item": rng.integers(2, 50, rows).astype("int32"), "hist": hist}


def din_weights_numpy(model, x: dict) -> np.ndarray:
    """DIN's a_l = MLP([q, k_l, q - k_l, q * k_l]) (sigmoid hidden layers, linear score), times the mask."""
    table = np.asarray(model.get_layer("item-embed").weights[0])
    layer = model.get_layer("interest")
    q, keys, mask = table[x["item"]], table[x["hist"]], x["hist"] != 0
    keys = np.where(mask[..., None], keys, 0.0)
    qq = np.broadcast_to(q[:, None, :], keys.shape)
    h = np.concatenate([qq, keys, qq - keys, qq * keys], axis=-1)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    h = sig(h @ np.asarray(layer.kernel) + np.asarray(layer.bias))
    dense = layer.hidden[0]
    h = sig(h @ np.asarray(dense.kernel) + np.asarray(dense.bias))
    a = (h @ np.asarray(layer.score.kernel) + np.asarray(layer.score.bias))[..., 0]
    return np.where(mask, a, 0.0)


def test_din_weights_equal_numpy_and_are_zero_at_padding(tmp_path):
    from recdsl.emitter import emit

    model = randomised(emit(spec_of(tmp_path, DIN)))
    x = batch()
    got = model.predict(x, verbose=0)
    w = got["alphas"]
    assert w.shape == (6, 5) and w.dtype == np.float32 and got["click"].shape == (6, 1)
    expected = din_weights_numpy(model, x)
    assert np.max(np.abs(w - expected)) / np.max(np.abs(expected)) < 1e-5
    assert (w[x["hist"] == 0] == 0.0).all()          # exactly 0 at padding
    assert (w[2] == 0.0).all()                        # a row of padding only: all zeros
    assert np.abs(w[x["hist"] != 0]).min() > 0.0      # the valid positions are weighed
    one = model.predict({k: v[:1] for k, v in x.items()}, verbose=0)["alphas"]  # a batch of one
    assert one.shape == (1, 5) and np.max(np.abs(one[0] - w[0])) < 1e-6


def test_weights_equal_the_report_diagnostics_for_every_attention_op(tmp_path):
    from recdsl.emitter import emit
    from recdsl.training.diagnostics import attention_weights

    spec = spec_of(tmp_path, OTHERS)
    model = randomised(emit(spec), seed=3)
    x = batch(8, seed=4)
    got = model.predict(x, verbose=0)
    report = attention_weights(model, spec, x, rows=8)
    for node in ("target", "plain", "mixed", "crossed"):
        w, mask, _ = report[node]
        assert got[f"w_{node}"].shape == (8, 5)
        assert np.max(np.abs(got[f"w_{node}"] - w)) < 1e-6, node
        assert (got[f"w_{node}"][~mask] == 0.0).all() and (got[f"w_{node}"][2] == 0.0).all()
        valid = got[f"w_{node}"].sum(axis=1)[x["hist"].any(axis=1)]
        assert np.allclose(valid, 1.0, atol=1e-5), node  # softmax over the valid positions


def test_saved_model_reloads_to_the_same_weights(tmp_path):
    from recdsl.emitter import emit
    from recdsl.layers import load_model

    model = randomised(emit(spec_of(tmp_path, DIN)), seed=5)
    x = batch()
    before = model.predict(x, verbose=0)["alphas"]
    model.save(tmp_path / "model.keras")
    after = load_model(tmp_path / "model.keras").predict(x, verbose=0)["alphas"]
    assert np.array_equal(before, after)


ESMM = """model esmm_toy "ESMM toy without a pCVR label"
feature row : numeric(size=3)
output click = sigmoid(row, weight=0.7)
output convert = sigmoid(row, weight=0)
output both = product(click, convert, weight=1.3)
"""


def test_weight_zero_head_without_label_is_served_only(tmp_path):
    from recdsl.data.schema import schema_from_json, schema_of, schema_to_json

    spec = spec_of(tmp_path, ESMM)
    schema = schema_of(spec)
    assert [lab.output for lab in schema.labels] == ["click", "both"]
    assert [(o.output, o.op, o.size) for o in schema.served] == [("convert", "sigmoid", 1)]
    assert "convert" not in schema.data_columns
    assert schema_from_json(schema_to_json(schema)) == schema
    labelled = schema_of(spec, columns={"convert": "bought"})  # a label given: measured, as before
    assert [lab.output for lab in labelled.labels] == ["click", "convert", "both"]
    din = schema_of(spec_of(tmp_path, DIN, "din.rec"))
    assert [o.output for o in din.served] == ["alphas"] and din.served[0].size == 5


def test_label_free_training_loss_is_the_labelled_outputs_weighted_sum(tmp_path):
    """3 rows, set pCTR and pCVR: loss = 0.7 BCE(y_ctr, pctr) + 1.3 BCE(y_ctcvr, pctr pcvr), with no
    target for pCVR at all; one fit step runs on the same targets."""
    import keras

    from recdsl.data.schema import schema_of
    from recdsl.emitter import emit
    from recdsl.training.compilation import compile_model
    from recdsl.training.config import RunConfig

    spec = spec_of(tmp_path, ESMM)
    model = emit(spec)
    pctr, pcvr = np.array([0.9, 0.2, 0.6]), np.array([0.5, 0.3, 0.95])
    for name, p in (("click", pctr), ("convert", pcvr)):
        head = model.get_layer(name)
        head.logit.kernel.assign(np.log(p / (1 - p))[:, None].astype("float32"))
        head.logit.bias.assign(np.zeros(1, "float32"))
    compile_model(model, schema_of(spec).labels, RunConfig(), keras, jit=False)
    x = {"row": np.eye(3, dtype="float32")}
    y_ctr, y_ctcvr = np.array([1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    targets = {"click": y_ctr[:, None], "both": y_ctcvr[:, None]}
    found = model.evaluate(x, targets, verbose=0, return_dict=True)

    def bce(y, p):
        return -np.mean([yi * math.log(pi) + (1 - yi) * math.log(1 - pi) for yi, pi in zip(y, p)])

    assert found["loss"] == pytest.approx(0.7 * bce(y_ctr, pctr) + 1.3 * bce(y_ctcvr, pctr * pcvr), rel=1e-5)
    assert "convert_loss" not in found and not any(k.startswith("convert_") for k in found)
    history = model.fit(x, targets, epochs=1, batch_size=3, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_weights_output_trains_beside_its_head(tmp_path):
    import keras

    from recdsl.data.schema import schema_of
    from recdsl.emitter import emit
    from recdsl.training.compilation import compile_model
    from recdsl.training.config import RunConfig

    spec = spec_of(tmp_path, DIN)
    model = emit(spec)
    compile_model(model, schema_of(spec).labels, RunConfig(), keras, jit=False)
    x = batch(8)
    history = model.fit(x, {"click": np.ones((8, 1), "float32")}, epochs=2, batch_size=4, verbose=0).history
    assert history["loss"][1] < history["loss"][0] and "alphas_loss" not in history


def test_nothing_to_train_is_a_user_error(tmp_path):
    import keras

    from recdsl.emitter import emit
    from recdsl.errors import UsageError
    from recdsl.training.compilation import compile_model
    from recdsl.training.config import RunConfig

    model = emit(spec_of(tmp_path, "model n\nfeature row : numeric(size=3)\noutput p = sigmoid(row, weight=0)\n"))
    with pytest.raises(UsageError) as info:
        compile_model(model, (), RunConfig(), keras, jit=False)
    assert info.value.message == "model `n` has nothing to train: every output is served only (p)"
