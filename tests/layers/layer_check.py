"""One check every layer test runs, plus small shared tools.

`check_layer` builds and calls a layer, round-trips its config, saves and reloads a
tiny functional model around it, and compares its trainable parameter count with the
op registry's count rule (the contract the checker shows users).
"""
from __future__ import annotations

import inspect
import json

import keras
import numpy as np
from keras import ops

from recdsl import ops as registry
from recdsl.ops.context import OpContext


def to_numpy(x):
    if isinstance(x, (list, tuple)):
        return [to_numpy(t) for t in x]
    if isinstance(x, np.ndarray):
        return x
    return ops.convert_to_numpy(ops.cast(x, "float32")) if "float" in str(x.dtype) else ops.convert_to_numpy(x)


def weight(variable) -> np.ndarray:
    return ops.convert_to_numpy(variable.value).astype("float64")


def assert_close(actual, expected, rtol=1e-5):
    """Relative error max|a - e| / max(|e|, 1e-6) below rtol."""
    actual, expected = np.asarray(to_numpy(actual), "float64"), np.asarray(to_numpy(expected), "float64")
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(np.max(np.abs(expected)) if expected.size else 0.0, 1e-6)
    err = np.max(np.abs(actual - expected)) / scale if expected.size else 0.0
    assert err < rtol, f"relative error {err:.3g} >= {rtol}"


def trainable_count(layer) -> int:
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


def registry_count(op: str, inputs: dict, args: dict | None = None, context: dict | None = None, out=None) -> int:
    """The registry's trainable-parameter rule for `op`, with an OpContext built by hand
    (`context`: its checker-filled fields, e.g. table= or gate_by_width=)."""
    spec = registry.load()[op]
    full = {p.name: p.default for p in spec.params if not p.required}
    full.update(args or {})
    ctx = OpContext(spec, inputs, full, **dict(context or {}))
    return spec.count(ctx, spec.infer(ctx) if out is None else out)


def _call(layer, inputs, mask, kwargs):
    if mask is not None:
        kwargs = {**kwargs, "mask": mask}
    return layer(inputs, **kwargs)


def _symbolic(x, name):
    return keras.Input(shape=x.shape[1:], dtype=str(x.dtype), name=name)


def check_layer(layer, inputs, mask=None, params=None, tmp_path=None, **call_kwargs):
    """Build, call, config round-trip, .keras save/load and parameter count; returns the output."""
    out = to_numpy(_call(layer, inputs, mask, call_kwargs))
    assert np.all(np.isfinite(out))
    if params is not None:
        assert trainable_count(layer) == params, (trainable_count(layer), params)

    config = layer.get_config()
    json.dumps(config)
    own = [n for n, p in inspect.signature(type(layer).__init__).parameters.items()
           if n != "self" and p.kind is not p.VAR_KEYWORD]
    assert set(own) <= set(config), f"get_config misses {set(own) - set(config)}"
    clone = type(layer).from_config(config)
    _call(clone, inputs, mask, call_kwargs)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(_call(clone, inputs, mask, call_kwargs)), out, rtol=1e-6, atol=1e-6)

    if tmp_path is not None:
        _check_saved(layer, inputs, mask, out, tmp_path, call_kwargs)
    return out


def _check_saved(layer, inputs, mask, out, tmp_path, call_kwargs):
    arrays = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    symbols = [_symbolic(a, f"in_{i}") for i, a in enumerate(arrays)]
    feed = list(arrays)
    mask_symbol = None
    if mask is not None:
        mask_symbol = _symbolic(mask, "mask")
        symbols.append(mask_symbol)
        feed.append(mask)
    layer_in = symbols[:len(arrays)] if isinstance(inputs, (list, tuple)) else symbols[0]
    model = keras.Model(symbols, _call(layer, layer_in, mask_symbol, call_kwargs))
    np.testing.assert_allclose(to_numpy(model(feed)), out, rtol=1e-6, atol=1e-6)
    path = tmp_path / f"{type(layer).__name__}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(feed)), out, rtol=0, atol=0)


def check_mixed(make, inputs, mask=None, **call_kwargs):
    """The layer built under float16 and bfloat16 compute dtypes gives finite outputs."""
    for policy in ("mixed_float16", "mixed_bfloat16"):
        layer = make(dtype=policy)
        out = _call(layer, inputs, mask, call_kwargs)
        assert np.all(np.isfinite(to_numpy(out))), policy


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def lengths_mask(lengths, max_len: int) -> np.ndarray:
    """Bool [B, L] mask with the first `lengths[b]` positions valid (0 = fully padded)."""
    return np.arange(max_len)[None, :] < np.asarray(lengths)[:, None]


def randomize(layer, seed: int, scale: float = 0.5):
    """Give every weight (biases and learned slopes too) random values so references test them."""
    r = rng(seed)
    layer.set_weights([(r.normal(size=w.shape) * scale).astype("float32") if w.trainable
                       else np.abs(r.normal(size=w.shape)).astype("float32") + 0.5
                       for w in layer.weights])


def central_difference(f, x, h=1e-5):
    """d f / d x by central differences, f a scalar function of the float64 array x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def gradients(layer, inputs, cotangent, **call_kwargs):
    """d sum(cotangent * layer(inputs)) / d (inputs, *trainable weights), as float64 arrays,
    with the running back end's own autodiff (the layer's custom gradients included).
    `inputs` is one array or a list of them (one gradient each, in order)."""
    backend = keras.backend.backend()
    weights = layer.trainable_weights
    several = isinstance(inputs, (list, tuple))
    arrays = list(inputs) if several else [inputs]

    def call(xs):
        return layer(list(xs) if several else xs[0], **call_kwargs)

    if backend == "tensorflow":
        import tensorflow as tf
        xs = [tf.constant(a) for a in arrays]
        with tf.GradientTape() as tape:
            tape.watch(xs)
            loss = tf.reduce_sum(cotangent * call(xs))
        grads = tape.gradient(loss, xs + [w.value for w in weights])
    elif backend == "torch":
        import torch
        xs = [torch.tensor(a, requires_grad=True) for a in arrays]
        loss = torch.sum(torch.tensor(cotangent) * call(xs))
        grads = torch.autograd.grad(loss, xs + [w.value for w in weights])
    elif backend == "jax":
        import jax
        non_trainable = [w.value for w in layer.non_trainable_weights]

        def loss(xs, trainable):
            out, _ = layer.stateless_call(trainable, non_trainable, list(xs) if several else xs[0],
                                          **call_kwargs)
            return (cotangent * out).sum()

        gx, gw = jax.grad(loss, argnums=(0, 1))(arrays, [w.value for w in weights])
        grads = list(gx) + list(gw)
    else:
        raise NotImplementedError(f"no gradient helper for the {backend} back end")
    return [np.asarray(ops.convert_to_numpy(g), "float64") for g in grads]
