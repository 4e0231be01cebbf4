"""ExpertMixture (the MMoE / CGC task gate) against a numpy formula."""
import numpy as np

from recdsl.layers.mixture import ExpertMixture
from recdsl.ops.types import StackType, VectorType

from . import reference as ref
from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, to_numpy


def mixture_reference(layer, experts, by):
    """g = softmax(by W + b); out = sum_k g_k e_k, in float64."""
    logits = ref.dense(layer.gate, by)
    g = np.exp(logits - logits.max(-1, keepdims=True))
    g /= g.sum(-1, keepdims=True)
    return np.einsum("bk,bkn->bn", g, experts), g


def _case(b, k, n, m, seed):
    r = rng(seed)
    return r.normal(size=(b, k, n)).astype("float32"), r.normal(size=(b, m)).astype("float32")


def _built(experts, by, seed):
    layer = ExpertMixture()
    layer.build([experts.shape, by.shape])
    randomize(layer, seed)
    return layer


def test_matches_numpy_with_bias(tmp_path):
    experts, by = _case(5, 3, 4, 6, 1)
    layer = _built(experts, by, 2)
    assert np.any(to_numpy(layer.gate.bias) != 0)
    params = registry_count("mixture", {"experts": StackType(3, 4), "by": VectorType(6)})
    out = check_layer(layer, [experts, by], params=params, tmp_path=tmp_path)
    expected, _ = mixture_reference(layer, experts.astype("float64"), by.astype("float64"))
    assert out.shape == (5, 4)
    assert_close(out, expected)


def test_batch_of_one():
    experts, by = _case(1, 4, 3, 2, 3)
    layer = _built(experts, by, 4)
    expected, _ = mixture_reference(layer, experts.astype("float64"), by.astype("float64"))
    assert_close(layer([experts, by]), expected)


def test_one_expert_is_that_expert():
    experts, by = _case(4, 1, 5, 3, 5)
    layer = _built(experts, by, 6)
    assert_close(layer([experts, by]), experts[:, 0, :].astype("float64"))


def test_gate_weights_are_a_distribution_per_row():
    experts, by = _case(6, 3, 2, 4, 7)
    layer = _built(experts, by, 8)
    g = to_numpy(layer.gate_weights([experts, by]))
    _, expected = mixture_reference(layer, experts.astype("float64"), by.astype("float64"))
    assert_close(g, expected)
    np.testing.assert_allclose(g.sum(-1), 1.0, rtol=1e-6)


def test_mixed_precision():
    experts, by = _case(3, 2, 4, 5, 9)
    check_mixed(lambda dtype: ExpertMixture(dtype=dtype), [experts, by])
