import numpy as np
import pytest

from recdsl.layers.glue import FieldJoin, PaddingMask

from .layer_check import assert_close, check_layer, rng

B = 4


def test_stack_fields_and_stacks(tmp_path):
    r = rng(1)
    a, s, b = (r.normal(size=shape).astype("float32") for shape in ((B, 3), (B, 2, 3), (B, 3)))
    out = check_layer(FieldJoin("stack"), [a, s, b], params=0, tmp_path=tmp_path)
    assert_close(out, np.concatenate([a[:, None], s, b[:, None]], axis=1))


def test_join_on_last_axis(tmp_path):
    r = rng(2)
    x, y = r.normal(size=(B, 5, 2)).astype("float32"), r.normal(size=(B, 5, 3)).astype("float32")
    out = check_layer(FieldJoin("join"), [x, y], params=0, tmp_path=tmp_path)
    assert_close(out, np.concatenate([x, y], axis=-1))


def test_padding_mask(tmp_path):
    ids = np.array([[3, 1, 0, 0], [0, 0, 0, 0]], dtype="int32")
    out = check_layer(PaddingMask(), ids, params=0, tmp_path=tmp_path)
    np.testing.assert_array_equal(out, ids != 0)


def test_unknown_mode():
    with pytest.raises(ValueError):
        FieldJoin("sum")
