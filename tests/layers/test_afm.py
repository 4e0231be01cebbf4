import numpy as np
import pytest

import recdsl
from recdsl.lang.errors import SpecErrors
from recdsl.layers.afm import AttentionalFM
from recdsl.ops.types import StackType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, to_numpy, weight


def afm_reference(layer, v):
    products = [v[:, i] * v[:, j] for i in range(v.shape[1]) for j in range(i + 1, v.shape[1])]
    e = np.stack(products, axis=1)                                            # [B, P, d]
    hidden = np.maximum(e @ weight(layer.kernel) + weight(layer.bias), 0)      # [B, P, t]
    logits = hidden @ weight(layer.score)                                     # [B, P]
    a = np.exp(logits - logits.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    pooled = np.einsum("bp,bpd->bd", a, e)
    return pooled @ weight(layer.projection)[:, None] if layer.reduce else pooled


CASES = [((5, 4, 3), dict()), ((1, 2, 6), dict(units=3, reduce=False)), ((3, 6, 4), dict(units=1, dropout=0.3))]


@pytest.mark.parametrize("shape, kwargs", CASES)
def test_matches_numpy(shape, kwargs, tmp_path):
    v = rng(1).normal(size=shape).astype("float32")
    layer = AttentionalFM(**kwargs)
    layer.build(v.shape)
    randomize(layer, 2)
    params = registry_count("afm", {"fields": StackType(shape[1], shape[2])}, kwargs)
    out = check_layer(layer, v, params=params, tmp_path=tmp_path)
    assert out.shape == (shape[0], 1 if layer.reduce else shape[2])
    assert_close(out, afm_reference(layer, v.astype("float64")))


def test_dropout_only_while_training():
    v = rng(5).normal(size=(64, 3, 8)).astype("float32")
    layer = AttentionalFM(units=4, dropout=0.5, reduce=False)
    inference = to_numpy(layer(v, training=False))
    dropped = to_numpy(layer(v, training=True))
    assert np.mean(dropped == 0) > 0.3 and np.mean(inference == 0) == 0
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], 2 * inference[kept], rtol=1e-5)


def test_needs_two_fields():
    with pytest.raises(ValueError, match="two fields"):
        AttentionalFM()(np.zeros((2, 1, 3), "float32"))


def test_checker_refuses_one_field(tmp_path):
    path = tmp_path / "one.rec"
    path.write_text("model m\nfeature a : id(buckets=10, dim=8)\nblock x = afm(a, units=4)\noutput o = sigmoid(x)\n")
    with pytest.raises(SpecErrors) as info:
        recdsl.typecheck(path)
    error = next(e for e in info.value.errors if e.severity == "error")
    assert error.message == "afm needs at least two fields (one field has no pairs)"
    assert (error.span.line, error.span.column) == (3, 15)


def test_mixed_precision():
    v = rng(3).normal(size=(4, 3, 5)).astype("float32")
    for reduce in (True, False):
        check_mixed(lambda dtype: AttentionalFM(units=4, reduce=reduce, dtype=dtype), v)
