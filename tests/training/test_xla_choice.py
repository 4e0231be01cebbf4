"""jit_compile: on/off are obeyed; auto on a CPU-only TensorFlow turns XLA on only when every
embedding table is small (XLA makes a lookup's gradient a dense update of the whole table)."""
from __future__ import annotations

from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

import recdsl  # noqa: E402
from recdsl.training.compilation import XLA_CPU_TABLE_LIMIT, use_xla  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_explicit_settings_win():
    spec = recdsl.typecheck(ROOT / "specs" / "din.rec")
    assert use_xla("on", keras, spec) is True
    assert use_xla("off", keras, spec) is False


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the CPU rule is TensorFlow's")
def test_auto_on_cpu_follows_the_largest_table():
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("auto is always on with a GPU")
    big = recdsl.typecheck(ROOT / "specs" / "din.rec")  # user_id: 100,002 x 16 rows
    assert max(n.params for n in big.nodes if n.kind == "feature") > XLA_CPU_TABLE_LIMIT
    assert use_xla("auto", keras, big) is False
    small = recdsl.typecheck(ROOT / "examples" / "movielens" / "din.rec")
    assert max(n.params for n in small.nodes if n.kind == "feature") <= XLA_CPU_TABLE_LIMIT
    assert use_xla("auto", keras, small) is True
