"""jit_compile: auto on a CPU-only TensorFlow follows what the spec contains: XLA draws random
numbers slowly on CPU (bench/xla_ops.py: a transformer block with dropout=0.1 trains 14-19x
slower under XLA, an MLP with dropout 4x, the same specs without dropout as fast or faster), so
a spec with dropout anywhere trains without XLA; one without keeps XLA when its tables are small."""
from __future__ import annotations

from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

import recdsl  # noqa: E402
from recdsl.training.compilation import use_xla, xla_loses_on_cpu  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SMALL = """model small
feature item : id(buckets=2_000, dim=16)
feature hist : sequence(of=item, max_len=30)
"""
TRANSFORMER = SMALL + "block t = transformer(hist, heads=4, layers=1{extra})\noutput ctr = sigmoid(mlp([item, avg(t)], units=[32]))\n"
DIN = SMALL + "pool p = din(query=[item], keys=[hist], units=[16])\noutput ctr = sigmoid(mlp([item, p], units=[32]{extra}))\n"


@pytest.fixture(autouse=True)
def _cpu_tensorflow():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the CPU rule is TensorFlow's")
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("auto is always on with a GPU")


@pytest.mark.parametrize("text", [TRANSFORMER, DIN], ids=["transformer", "din"])
def test_dropout_anywhere_turns_auto_xla_off_on_cpu(text):
    without = recdsl.check(text.format(extra=""))
    assert xla_loses_on_cpu(without) == [] and use_xla("auto", keras, without) is True
    spec = recdsl.check(text.format(extra=", dropout=0.1"))
    found = xla_loses_on_cpu(spec)
    assert len(found) == 1 and found[0].endswith(": dropout=0.1")
    assert use_xla("auto", keras, spec) is False
    assert use_xla("on", keras, spec) is True  # an explicit setting still wins


def test_the_bundled_specs():
    assert use_xla("auto", keras, recdsl.check(ROOT / "examples" / "movielens" / "din.rec")) is True
    bst = recdsl.check(ROOT / "specs" / "bst.rec")
    assert xla_loses_on_cpu(bst) == ["encoded: dropout=0.1", "deep: dropout=0.1"]
    assert use_xla("auto", keras, bst) is False
