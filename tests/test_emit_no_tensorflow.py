"""recdsl's import and emit path needs no TensorFlow: under KERAS_BACKEND=jax, `import recdsl`,
checking, emitting and compiling every bundled spec under mixed precision (what bench/gpu_speed.py
does on a GPU machine without TensorFlow) never imports it. (keras.utils.set_random_seed, which
recdsl's training calls, imports TensorFlow when it is installed, to seed tf.data: the bench seeds
that way too, on a machine without it.)"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parents[1]
CODE = """
import glob, sys
import recdsl
from recdsl.data.schema import schema_of
from recdsl.training.compilation import compile_model
from recdsl.training.config import RunConfig
import keras

config = RunConfig(precision="mixed_bfloat16")
keras.config.set_dtype_policy(config.precision)
for path in sorted(glob.glob("specs/*.rec")):
    spec = recdsl.check(path)
    model = recdsl.emit(spec)
    compile_model(model, schema_of(spec).labels, config, keras, jit=True)
print(keras.backend.backend(), sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow"))
"""


def test_emit_under_jax_never_imports_tensorflow():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "jax []"
