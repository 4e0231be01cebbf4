"""The `wide` op and the "features" input form: what the checker counts, refuses and leaves unembedded,
checked against counts written out by hand and against the built model."""
from __future__ import annotations

import numpy as np
import pytest

from recdsl.lang.errors import SpecErrors

from .. import spec_check

PRELUDE = """model w
feature user_id : id(buckets=10, dim=4)
feature gender  : category(vocab=["M", "F"], dim=4)
feature genre   : category(size=5, dim=4)
feature genres  : multi(of=genre, max_len=3)
feature age     : numeric(size=2)
feature year    : numeric(boundaries=[1, 2, 3])
"""


def checked(tmp_path, body: str):
    return spec_check.checked(tmp_path, PRELUDE + body)


def test_parameters_by_hand(tmp_path):
    """1 bias + user_id 11 (12 rows less padding) + gender 3 + genre's table 6 (shared by genres) + 2 dense
    weights + year 5 (6 bucket rows less padding)."""
    spec = checked(tmp_path, "block linear = wide(user_id, [gender, genre], genres, age, year)\n"
                             "output ctr = sigmoid(linear)\n")
    assert spec.node("linear").params == 1 + 11 + 3 + 6 + 2 + 5


def test_features_read_only_as_ids_have_no_table(tmp_path):
    """gender and year are only read by wide: no embedding; genre's table stays, genres embeds through it."""
    spec = checked(tmp_path, "block linear = wide(user_id, gender, genres, year)\n"
                             "output ctr = sigmoid(concat(linear, user_id, avg(genres)))\n")
    assert [spec.node(n).params for n in ("user_id", "gender", "genre", "year")] == [48, 0, 28, 0]
    assert spec.node("linear").params == 1 + 11 + 3 + 6 + 5


def test_the_built_model_has_the_checked_parameters(tmp_path):
    pytest.importorskip("keras")
    from recdsl.emitter import emit

    spec = checked(tmp_path, "group user = [user_id, gender]\nblock linear = wide(user, genres, age, year)\n"
                             "block deep = mlp([gender, avg(genres)], units=[3])\n"
                             "output ctr = sigmoid(concat(linear, deep))\n")
    model = emit(spec)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == spec.total_params
    assert "user_id-embed" not in [layer.name for layer in model.layers]
    assert {"user_id", "gender", "genres", "age", "year"} <= set(model.input)


def test_a_pooled_bag_is_refused_with_a_hint(tmp_path):
    with pytest.raises(SpecErrors) as err:
        checked(tmp_path, "pool genres_vec = avg(genres)\nblock linear = wide(user_id, genres_vec)\n"
                          "output ctr = sigmoid(linear)\n")
    text = str(err.value)
    assert "`genres_vec` is an embedding field [B, 4], not a feature; wide reads the features' own ids and values" \
        in text
    assert "name the features themselves, e.g. `genres` rather than `genres_vec`" in text
