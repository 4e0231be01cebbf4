import numpy as np
import pytest

import recdsl
from recdsl.lang.errors import SpecErrors
from recdsl.layers.cin import CompressedInteraction
from recdsl.ops.types import StackType

from .layer_check import assert_close, check_layer, check_mixed, randomize, registry_count, rng, weight
from .reference import activation


def cin_reference(layer, x0):
    """The paper's equation, map by map: X^k_h = sum_{i, j} W^{k,h}_{ij} (X^{k-1}_i o X^0_j)."""
    b, f, d = x0.shape
    x, outputs = x0, []
    for i, (kernel, bias) in enumerate(zip(layer.kernels, layer.biases)):
        w = weight(kernel).reshape(f, x.shape[1], -1)    # [F, H, S]: row f * H + h of the kernel
        y = np.zeros((b, w.shape[-1], d))
        for s in range(w.shape[-1]):
            for a in range(f):
                for h in range(x.shape[1]):
                    y[:, s] += w[a, h, s] * x0[:, a] * x[:, h]
        y = activation(None, layer.activation, y + weight(bias)[None, :, None])
        if layer.split_half and i < len(layer.sizes) - 1:
            half = y.shape[1] // 2
            x, kept = y[:, :half], y[:, half:]
        else:
            x = kept = y
        outputs.append(kept.sum(-1))
    return np.concatenate(outputs, axis=-1)


CASES = [
    ((5, 4, 3), dict(sizes=[6, 4])),
    ((3, 3, 5), dict(sizes=[4, 2, 3], split_half=False, activation="tanh")),
    ((1, 1, 4), dict(sizes=[2, 5], activation="linear")),        # one field, batch of one
    ((2, 5, 2), dict(sizes=[3], activation="sigmoid")),          # one layer: never split
]


@pytest.mark.parametrize("shape, kwargs", CASES)
def test_matches_numpy(shape, kwargs, tmp_path):
    x = rng(1).normal(size=shape).astype("float32")
    layer = CompressedInteraction(**kwargs)
    layer.build(x.shape)
    randomize(layer, 2)
    params = registry_count("cin", {"fields": StackType(shape[1], shape[2])}, kwargs)
    out = check_layer(layer, x, params=params, tmp_path=tmp_path)
    assert out.shape == (shape[0], layer.output_width())
    assert_close(out, cin_reference(layer, x.astype("float64")))


def test_split_half_widths():
    layer = CompressedInteraction(sizes=[128, 128])
    assert layer.compute_output_shape((None, 3, 8)) == (None, 64 + 128)
    assert CompressedInteraction(sizes=[6, 4], split_half=False).output_width() == 10


def test_split_half_needs_even_sizes():
    with pytest.raises(ValueError, match="even"):
        CompressedInteraction(sizes=[5, 4])


def checker_error(tmp_path, body):
    path = tmp_path / "bad.rec"
    path.write_text("model m\nfeature a : id(buckets=10, dim=8)\nfeature b : id(buckets=10, dim=8)\n" + body
                    + "output o = sigmoid(x)\n")
    with pytest.raises(SpecErrors) as info:
        recdsl.typecheck(path)
    return next(e for e in info.value.errors if e.severity == "error")


def test_checker_refuses_odd_sizes_with_split_half(tmp_path):
    error = checker_error(tmp_path, "block x = cin([a, b], sizes=[4, 7, 3])\n")
    assert error.message == "split_half=true halves every layer but the last; size 7 is odd"
    assert (error.span.line, error.span.column) == (4, 29) and "split_half=false" in error.hint


def test_checker_width_and_count(tmp_path):
    path = tmp_path / "ok.rec"
    path.write_text("model m\nfeature a : id(buckets=10, dim=8)\nfeature b : id(buckets=10, dim=8)\n"
                    "block x = cin([a, b, a], sizes=[4, 7])\noutput o = sigmoid(x)\n")
    node = recdsl.typecheck(path).node("x")
    assert node.type.size == 2 + 7
    assert node.params == (3 * 3 * 4 + 4) + (3 * 2 * 7 + 7)


def test_mixed_precision():
    x = rng(3).normal(size=(4, 3, 5)).astype("float32")
    check_mixed(lambda dtype: CompressedInteraction(sizes=[4, 2], dtype=dtype), x)
