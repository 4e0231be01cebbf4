import numpy as np
import pytest

from recdsl.layers.linear import FeatureLinear
from recdsl.ops.feature_inputs import FeatureInput, FeatureInputs, layer_config

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight

# a category (table u, 6 rows), a bag sharing table g (5 rows) with a category, two dense values,
# a bucketised numeric (4 rows)
FEATURES = (
    FeatureInput("u", "row", "u", 6),
    FeatureInput("genre", "row", "g", 5),
    FeatureInput("genres", "rows", "g", 5),
    FeatureInput("x", "dense", size=2),
    FeatureInput("year", "bucket", "year", 4),
)


def batch(r, rows: int):
    genres = r.integers(1, 5, (rows, 4)).astype("int32")
    genres[np.arange(4)[None, :] >= r.integers(0, 5, (rows, 1))] = 0  # padded at the end, some rows empty
    return [r.integers(0, 6, rows).astype("int32"), r.integers(1, 5, rows).astype("int32"), genres,
            r.normal(size=(rows, 2)).astype("float32"), r.integers(1, 4, rows).astype("int32")]


def linear_reference(layer, inputs):
    """b + sum_i s_i, with each table's row 0 (padding) weighing 0 and a shared table read by both users."""
    tables = {name: np.concatenate([[0.0], weight(w)]) for name, w in layer.tables.items()}
    u, genre, genres, x, year = inputs
    out = weight(layer.bias)[0] + tables["u"][u] + tables["g"][genre] + tables["g"][genres].sum(-1)
    out = out + x.astype("float64") @ weight(layer.dense["x"]) + tables["year"][year]
    return out[:, None]


def make(**kwargs):
    return FeatureLinear(layer_config(FeatureInputs(FEATURES)), **kwargs)


@pytest.mark.parametrize("rows", [1, 7])
def test_matches_numpy(rows, tmp_path):
    inputs = batch(rng(rows), rows)
    layer = make()
    layer.build([a.shape for a in inputs])
    randomize(layer, 3)
    params = registry_count("wide", {"features": (FeatureInputs(FEATURES[:2]), FeatureInputs(FEATURES[2:]))})
    out = check_layer(layer, inputs, params=params, tmp_path=tmp_path)
    assert_close(out, linear_reference(layer, inputs))


def test_parameters_by_hand():
    """Bias, tables u (6 rows) g (5, shared by two features) and year (4) without row 0, 2 dense weights."""
    layer = make()
    layer.build(None)
    assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == 1 + 5 + 4 + 3 + 2
    assert registry_count("wide", {"features": (FeatureInputs(FEATURES),)}) == 1 + 5 + 4 + 3 + 2


def test_padding_adds_nothing():
    """With table g's weights all 1 and the rest 0, a row scores its count of valid genre ids: row 0
    (padding) is the constant 0, not one of g's rows - 1 = 4 weights."""
    inputs = batch(rng(5), 6)
    layer = make()
    layer.build(None)
    assert tuple(layer.tables["g"].shape) == (4,)
    layer.tables["g"].assign(np.ones(4, "float32"))
    counts = (inputs[1] > 0) + (inputs[2] > 0).sum(-1)
    assert_close(layer(inputs), counts[:, None].astype("float64"))


def test_a_fresh_layer_scores_zero():
    inputs = batch(rng(7), 4)
    assert_close(make()(inputs), np.zeros((4, 1)))


def test_mixed_precision():
    check_mixed(lambda dtype: make(dtype=dtype), batch(rng(8), 4))


def test_unknown_form_is_refused():
    with pytest.raises(ValueError, match="form must be one of"):
        FeatureLinear([{"name": "a", "form": "embedding", "table": "a", "rows": 3, "size": 0}])
