"""A table whose rows do not divide by the model axis, in one process over two logical JAX CPU devices:
model parallel pads it to the next multiple (each device holds ceil(rows / 2) rows, the padding rows
zero), the real rows start as an unpadded table's do, the padded model scores what the unpadded one
scores, and its model.keras holds the real rows alone, loading into padded and unpadded models alike."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parents[2]
SPEC = """model odd "a table of 1,001 rows: odd, over the sharding threshold"
feature item : id(buckets=999, dim=4, l2=0.01)
feature cat  : category(vocab=["a", "b"], dim=4)
feature hist : sequence(of=item, max_len=5)
pool interest = din(query=[item], keys=[hist], units=[8])
output click = sigmoid(mlp([item, cat, interest], units=[8]))
"""
SCRIPT = r"""
import json, sys
import keras, numpy as np
import recdsl
from recdsl.training.config import RunConfig
from recdsl.training.distribution import Processes, distribution_of

spec, folder = recdsl.check(sys.argv[1]), sys.argv[2]
devices = keras.distribution.list_devices()
config = RunConfig(distribution="model", shard_tables_above=500)
keras.utils.set_random_seed(3)
plain = recdsl.emit(spec)
keras.distribution.set_distribution(distribution_of(config, spec, devices, Processes()))
keras.utils.set_random_seed(3)
padded = recdsl.emit(spec)
table = padded.get_layer("item-embed").embeddings
r = np.random.default_rng(0)
x = {"item": r.integers(0, 1001, 64).astype("int32"), "cat": r.integers(0, 4, 64).astype("int32"),
     "hist": r.integers(0, 1001, (64, 5)).astype("int32")}
padded.save(f"{folder}/padded.keras")
plain.save(f"{folder}/plain.keras")
into_padded = keras.saving.load_model(f"{folder}/plain.keras")
into_padded_table = np.asarray(into_padded.get_layer("item-embed").embeddings.value)
padded_scores = np.asarray(padded(x)["click"])
padded_loss = float(sum(np.asarray(l) for l in padded.losses))
keras.distribution.set_distribution(None)
reloaded = keras.saving.load_model(f"{folder}/padded.keras")
print(json.dumps({
    "devices": len(devices),
    "shape": list(table.shape),
    "shards": [list(s.data.shape) for s in table.value.addressable_shards],
    "spec": list(table.value.sharding.spec),
    "real_rows_as_unpadded": bool(np.array_equal(np.asarray(table.value)[:1001], np.asarray(plain.get_layer("item-embed").embeddings.value))),
    "padding_row": np.asarray(table.value)[1001].tolist(),
    "params": [padded.count_params(), plain.count_params()],
    "reloaded_shape": list(reloaded.get_layer("item-embed").embeddings.shape),
    "score_error": float(np.max(np.abs(padded_scores - np.asarray(plain(x)["click"])))),
    "reloaded_error": float(np.max(np.abs(padded_scores - np.asarray(reloaded(x)["click"])))),
    "l2_error": abs(padded_loss - float(sum(np.asarray(l) for l in plain.losses))),
    "into_padded": [list(into_padded_table.shape), bool(np.array_equal(into_padded_table[:1001],
                    np.asarray(plain.get_layer("item-embed").embeddings.value))), float(np.abs(into_padded_table[1001:]).max())],
}))
"""


def test_a_table_of_odd_rows_is_padded_and_row_sharded(tmp_path):
    (tmp_path / "odd.rec").write_text(SPEC)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "odd.rec"), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["devices"] == 2
    assert found["shape"] == [1002, 4] and found["spec"] == ["model", None]
    assert found["shards"] == [[501, 4], [501, 4]]  # ceil(1,001 / 2) rows on each device
    assert found["real_rows_as_unpadded"] and found["padding_row"] == [0.0, 0.0, 0.0, 0.0]
    assert found["params"][0] == found["params"][1] + 4  # count_params counts the one padding row
    assert found["score_error"] < 1e-6 and found["l2_error"] < 1e-7
    assert found["reloaded_shape"] == [1001, 4] and found["reloaded_error"] < 1e-6  # saved unpadded
    assert found["into_padded"] == [[1002, 4], True, 0.0]  # an unpadded file loads into a padded model
