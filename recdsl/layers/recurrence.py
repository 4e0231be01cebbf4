"""The GRU recurrence the GRU layers share (recdsl.layers.gru, recdsl.layers.interest_evolution).

Weights of a layer with G gates of width h over d-wide inputs (gate order u, r, c; AGRU has no
update gate: r, c):
    kernel [d, G h], recurrent_kernel [h, G h], bias [G h], and recurrent_bias [G h] with reset_after.

The recurrence runs over time with `keras.ops.scan` on JAX and unrolled over the static length on
TensorFlow and PyTorch (see run_gru); the input projection x W + b of every step is one matmul
before it. A padded step leaves the state as it was
and outputs 0, so a row's last state is its state after its last valid step, whatever the padding.
"""
from __future__ import annotations

from keras import backend, ops

#: How the attention score a_t of a step enters the recurrence (DIEN, Zhou et al., AAAI 2019).
#:   gru:   h_t = (1 - u_t) h_{t-1} + u_t h~_t                 no attention
#:   augru: u'_t = a_t u_t, h_t = (1 - u'_t) h_{t-1} + u'_t h~_t
#:   agru:  h_t = (1 - a_t) h_{t-1} + a_t h~_t                  (no update gate)
UPDATES = ("gru", "augru", "agru")


def gate_count(update: str) -> int:
    return 2 if update == "agru" else 3


def add_gru_weights(layer, input_dim: int, units: int, gates: int, reset_after: bool) -> None:
    """Create the recurrence's weights on `layer` (glorot kernel, orthogonal recurrent kernel, zero biases)."""
    layer.kernel = layer.add_weight(name="kernel", shape=(input_dim, gates * units), initializer="glorot_uniform")
    layer.recurrent_kernel = layer.add_weight(name="recurrent_kernel", shape=(units, gates * units),
                                              initializer="orthogonal")
    layer.bias = layer.add_weight(name="bias", shape=(gates * units,), initializer="zeros")
    layer.recurrent_bias = None
    if reset_after:
        layer.recurrent_bias = layer.add_weight(name="recurrent_bias", shape=(gates * units,), initializer="zeros")


def run_gru(layer, inputs, mask, attention=None, update: str = "gru"):
    """inputs [B, L, d] (padding already zeroed), mask bool [B, L], attention [B, L] or None ->
    (states [B, L, h] with padded steps 0, final state [B, h]), with `layer`'s weights."""
    dtype = inputs.dtype
    kernel = ops.cast(layer.kernel, dtype)
    recurrent = ops.cast(layer.recurrent_kernel, dtype)
    recurrent_bias = None if layer.recurrent_bias is None else ops.cast(layer.recurrent_bias, dtype)
    units = recurrent.shape[0]
    gates = recurrent.shape[1] // units
    projected = ops.matmul(inputs, kernel) + ops.cast(layer.bias, dtype)      # [B, L, G h]
    steps = [ops.transpose(projected, (1, 0, 2)), ops.expand_dims(ops.transpose(mask, (1, 0)), -1)]
    if attention is not None:
        steps.append(ops.expand_dims(ops.transpose(ops.cast(attention, dtype), (1, 0)), -1))

    def step(state, xs):
        gate_inputs, valid = xs[0], xs[1]
        new = _cell(state, gate_inputs, recurrent, recurrent_bias, units, gates,
                    None if attention is None else xs[2], update)
        new = ops.where(valid, new, state)
        return new, ops.where(valid, new, ops.zeros_like(new))

    initial = ops.zeros_like(projected[:, 0, :units])
    length = inputs.shape[1]
    if backend.backend() == "tensorflow":  # a length of None (histories in length buckets) is read at run time
        return _bounded_loop(step, initial, steps, ops.shape(inputs)[1] if length is None else length)
    if backend.backend() == "jax" or length is None:
        final, states = ops.scan(step, initial, tuple(steps))
        return ops.transpose(states, (1, 0, 2)), final
    state, outputs = initial, []  # PyTorch: its scan is this Python loop
    for t in range(length):
        state, out = step(state, tuple(s[t] for s in steps))
        outputs.append(out)
    return ops.stack(outputs, axis=1), state


def _bounded_loop(step, initial, steps, length):
    """The scan as a while loop with maximum_iterations: TensorFlow's ops.scan leaves it unset, and
    XLA (jit_compile) cannot compile the gradient of such a loop; unrolling compiles far slower.
    Step t's output is added into [L, B, h] through a one-hot over t (O(L^2 B h), small next to the
    recurrence for DIEN's lengths; a dynamic slice update has no portable gradient)."""
    positions = ops.arange(length)

    def body(t, state, outputs):
        new, out = step(state, tuple(ops.take(s, t, axis=0) for s in steps))
        here = ops.cast(ops.equal(positions, t), out.dtype)[:, None, None]
        return t + 1, new, outputs + here * out[None]

    outputs = ops.zeros((length,) + tuple(ops.shape(initial)), initial.dtype)
    _, final, outputs = ops.while_loop(lambda t, state, outputs: t < length, body,
                                       (ops.convert_to_tensor(0, "int32"), initial, outputs),
                                       maximum_iterations=length)
    return ops.transpose(outputs, (1, 0, 2)), final


def _cell(state, gate_inputs, recurrent, recurrent_bias, units, gates, attention, update):
    """One step: the new state [B, h] from the previous one and the step's projected inputs [B, G h]."""
    x_gates = ops.split(gate_inputs, gates, axis=-1)
    if recurrent_bias is not None:  # reset_after: r scales the candidate's recurrent term
        h_gates = ops.split(ops.matmul(state, recurrent) + recurrent_bias, gates, axis=-1)
        reset = ops.sigmoid(x_gates[-2] + h_gates[-2])
        candidate = ops.tanh(x_gates[-1] + reset * h_gates[-1])
    else:  # the paper's GRU: r scales the previous state before the candidate's recurrent kernel
        h_gates = ops.split(ops.matmul(state, recurrent[:, :(gates - 1) * units]), gates - 1, axis=-1)
        reset = ops.sigmoid(x_gates[-2] + h_gates[-1])
        candidate = ops.tanh(x_gates[-1] + ops.matmul(reset * state, recurrent[:, (gates - 1) * units:]))
    if update == "agru":
        u = attention
    else:
        u = ops.sigmoid(x_gates[0] + h_gates[0])
        if update == "augru":
            u = attention * u
    return (1.0 - u) * state + u * candidate
