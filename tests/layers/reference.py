"""Numpy references shared by several layer tests (masked softmax, activations)."""
from __future__ import annotations

import numpy as np

from .layer_check import weight


def softmax(logits, mask):
    """Softmax over the last axis restricted to mask; all-masked rows give zeros."""
    z = np.where(mask, logits, -np.inf)
    top = np.max(np.where(mask, logits, -1e300), axis=-1, keepdims=True)
    e = np.where(mask, np.exp(z - top), 0.0)
    total = e.sum(-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def activation(layer, name, h):
    """Inference-mode activation `name` with the weights of activation layer `layer`."""
    if name == "dice":
        norm = layer  # Dice keeps its own moving mean and variance
        xhat = (h - weight(norm.moving_mean)) / np.sqrt(weight(norm.moving_variance) + norm.epsilon)
        p = 1 / (1 + np.exp(-xhat))
        return p * h + (1 - p) * weight(layer.alpha) * h
    if name == "prelu":
        return np.where(h > 0, h, weight(layer.alpha) * h)
    return {"relu": lambda t: np.maximum(t, 0), "sigmoid": lambda t: 1 / (1 + np.exp(-t)),
            "linear": lambda t: t, "tanh": np.tanh}[name](h)


def dense(layer, x):
    return x @ weight(layer.kernel) + weight(layer.bias)


def gate_nu(gate, z):
    """PEPNet's Gate NU (recdsl.layers.gate_nu.GateNU): scale * sigmoid(W2 relu(W1 z + b1) + b2)."""
    return gate.scale / (1 + np.exp(-dense(gate.gate, np.maximum(dense(gate.hidden, z), 0))))
