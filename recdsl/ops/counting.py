"""Parameter-count rules shared by several ops, and the activation names ops accept."""
from __future__ import annotations


def dense_params(sizes: list[int], bias: bool = True) -> int:
    """Parameters of a stack of Dense layers sizes[0] -> sizes[1] -> ..."""
    return sum(a * b + (b if bias else 0) for a, b in zip(sizes, sizes[1:]))


def activation_params(activation: str, units: list[int]) -> int:
    """Dice and PReLU learn one slope per unit."""
    return sum(units) if activation in LEARNED_ACTIVATIONS else 0


#: Activations with weights (DIN's Dice and PReLU) and Keras' built-in ones, by their spec names.
LEARNED_ACTIVATIONS = ("dice", "prelu")
BUILTIN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "swish", "linear")
ACTIVATIONS = BUILTIN_ACTIVATIONS[:1] + LEARNED_ACTIVATIONS + BUILTIN_ACTIVATIONS[1:]  # the order messages list them in
