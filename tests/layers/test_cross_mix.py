import numpy as np
import pytest

from recdsl.layers.cross_mix import CrossMixture
from recdsl.ops.types import VectorType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight


def cross_mix_reference(layer, x0):
    """Expert by expert, as DeepCTR's CrossNetMix writes it with column vectors."""
    x = x0
    gate = weight(layer.gate)
    for u, v, c, b in zip(layer.u, layer.v, layer.c, layer.biases):
        u, v, c, b = weight(u), weight(v), weight(c), weight(b)
        experts, scores = [], []
        for i in range(layer.experts):
            low = np.tanh(c[i] @ np.tanh(v[i].T @ x.T))            # [r, B]
            experts.append(x0 * ((u[i] @ low).T + b))              # [B, n]
            scores.append(x @ gate[:, i])                          # [B]
        scores = np.stack(scores, axis=1)
        g = np.exp(scores - scores.max(1, keepdims=True))
        g /= g.sum(1, keepdims=True)
        x = np.einsum("bk,kbn->bn", g, np.stack(experts)) + x
    return x


CASES = [((6, 5), dict()), ((1, 7), dict(layers=3, experts=2, rank=3)), ((4, 1), dict(layers=1, experts=1, rank=1))]


@pytest.mark.parametrize("shape, kwargs", CASES)
def test_matches_numpy(shape, kwargs, tmp_path):
    x = rng(1).normal(size=shape).astype("float32")
    layer = CrossMixture(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2, scale=0.3)
    params = registry_count("cross_mix", {"x": VectorType(shape[1])}, kwargs)
    out = check_layer(layer, x, params=params, tmp_path=tmp_path)
    assert_close(out, cross_mix_reference(layer, x.astype("float64")))


def test_one_expert_is_a_gateless_low_rank_cross():
    """K = 1: the gate is 1, so each layer is x0 * (U tanh(C tanh(V^T x)) + b) + x."""
    x = rng(4).normal(size=(3, 4)).astype("float32")
    layer = CrossMixture(layers=1, experts=1, rank=2)
    layer.build(x.shape)
    randomize(layer, 5)
    u, v, c = (weight(w)[0] for w in (layer.u[0], layer.v[0], layer.c[0]))
    b = weight(layer.biases[0])
    x64 = x.astype("float64")
    expected = x64 * (np.tanh(np.tanh(x64 @ v) @ c.T) @ u.T + b) + x64
    assert_close(layer(x), expected)


def test_mixed_precision():
    x = rng(3).normal(size=(4, 6)).astype("float32")
    check_mixed(lambda dtype: CrossMixture(experts=3, rank=2, dtype=dtype), x)
