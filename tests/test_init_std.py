"""`init_std=` on id and category features: the table's rows start from N(0, init_std^2) (DeepCTR's
init_std) instead of U(-0.05, 0.05); checked, built, shared through `of=`, saved and reloaded."""
from __future__ import annotations

import keras
import numpy as np

from recdsl.emitter import emit
from recdsl.layers.embedding import FeatureEmbedding
from tests.spec_check import checked, only_error

SPEC = """model m "init"
feature user : id(buckets=4_000, dim=8, init_std={user})
feature item : category(size=3_000, dim=8, init_std=1e-4)
feature hist : sequence(of=item, max_len=3)
feature age  : category(size=50, dim=8)
pool h = avg(hist)
block deep = mlp([user, item, h, age], units=[4])
output ctr = sigmoid(deep)
"""


def embedding(model, name) -> FeatureEmbedding:
    return next(la for la in model.layers if isinstance(la, FeatureEmbedding) and la.name.startswith(name))


def table(model, name) -> np.ndarray:
    layer = embedding(model, name)
    return keras.ops.convert_to_numpy(layer.embeddings.value)[: layer.rows]


def test_rows_are_drawn_from_the_normal_of_the_given_spread(tmp_path):
    model = emit(checked(tmp_path, SPEC.format(user="1e-4")))
    for name in ("user", "item"):                         # item's table is also hist's (of=)
        rows = table(model, name)
        assert abs(rows.std() / 1e-4 - 1) < 0.03 and abs(rows.mean()) < 3e-6, (name, rows.std(), rows.mean())
    age = table(model, "age")                             # no init_std: Keras' U(-0.05, 0.05)
    assert np.abs(age).max() <= 0.05 and abs(age.std() / (0.05 / np.sqrt(3)) - 1) < 0.1
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_array_equal(table(again, "user"), table(model, "user"))
    assert embedding(again, "user").init_std == 1e-4


def test_a_zero_spread_is_refused_at_its_argument(tmp_path):
    error = only_error(tmp_path, SPEC.format(user="0"))
    assert error.message.startswith("init_std=0 starts every row at the same zero vector")
    assert "init_std=1e-4" in error.hint
    line = SPEC.splitlines()[1]
    assert (error.span.line, error.span.column) == (2, line.index("init_std=") + len("init_std=") + 1)  # the 0


def test_a_negative_spread_is_refused(tmp_path):
    error = only_error(tmp_path, SPEC.format(user="-1e-4"))
    assert error.message == "`init_std` must be at least 0, got -0.0001"
