"""The TensorFlow backend's one scale-out path: one process, tf.distribute.MirroredStrategy over
several local devices (recdsl.training.compilation picks it when several GPUs are visible). Proven
here on two logical CPU devices: a recdsl model built and compiled in the strategy's scope trains
under Keras 3's fit with the loss and weights of the same model on one device."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow  # a fresh Python that imports TensorFlow and trains twice

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from recdsl.checker import check
from recdsl.emitter import emit
from recdsl.lang.parser import parse
from recdsl.training.compilation import compile_model, use_xla
from recdsl.training.config import RunConfig

spec = check(parse('''model m "mirrored"
feature item : id(buckets=30, dim=4)
feature hist : sequence(of=item, max_len=3)
pool h = avg(hist)
output click = sigmoid(mlp([item, h], units=[8]))
''', "m.rec"))
config = RunConfig(optimizer="sgd", learning_rate=0.1)
from recdsl.data.schema import schema_of
labels = schema_of(spec, {}, {}).labels
rng = np.random.default_rng(0)
x = {"item": rng.integers(2, 32, 64).astype("int32"), "hist": rng.integers(0, 32, (64, 3)).astype("int32")}
y = {"click": rng.integers(0, 2, (64, 1)).astype("float32")}


def trained(strategy):
    keras.utils.set_random_seed(1)
    with strategy.scope():
        model = emit(spec)
        compile_model(model, labels, config, keras, use_xla("off", keras, spec))
    history = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(64), epochs=3, verbose=0)
    return history.history["loss"], [w.numpy().tolist() for w in model.weights], model.distribute_strategy


one_loss, one_weights, _ = trained(tf.distribute.OneDeviceStrategy("/cpu:0"))
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
two_loss, two_weights, used = trained(mirrored)
gap = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(one_weights, two_weights))
print(json.dumps({"replicas": used.num_replicas_in_sync, "one": one_loss, "two": two_loss, "gap": gap}))
"""


def test_mirrored_strategy_over_two_logical_cpus_trains_like_one_device(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["replicas"] == 2
    assert found["one"] == pytest.approx(found["two"], abs=1e-5)
    assert found["gap"] < 1e-5
