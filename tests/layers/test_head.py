import keras
import numpy as np
import pytest

from recdsl.layers.head import PredictionHead
from recdsl.ops.types import VectorType

from . import reference as ref
from .layer_check import assert_close, check_layer, randomize, registry_count, rng, to_numpy

B, N = 6, 5


@pytest.mark.parametrize("kind", ["sigmoid", "linear"])
def test_matches_numpy(kind, tmp_path):
    x = rng(1).normal(size=(B, N)).astype("float32")
    layer = PredictionHead(kind)
    layer.build(x.shape)
    randomize(layer, 2)
    out = check_layer(layer, x, params=registry_count(kind, {"x": VectorType(N)}), tmp_path=tmp_path)
    logit = ref.dense(layer.logit, x.astype("float64"))
    assert_close(out, 1 / (1 + np.exp(-logit)) if kind == "sigmoid" else logit)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_float32_under_mixed_precision(policy):
    keras.config.set_dtype_policy(policy)
    x = keras.Input((N,))
    hidden = keras.layers.Dense(3)(x)
    y = PredictionHead("sigmoid")(hidden)
    assert hidden.dtype != "float32" and y.dtype == "float32"
    out = keras.Model(x, y)(rng(3).normal(size=(B, N)).astype("float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.all(np.isfinite(to_numpy(out)))
