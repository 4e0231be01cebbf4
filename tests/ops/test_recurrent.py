"""gru and augru in specs: types, parameter counts by hand formulas, the checker's errors for misuse,
and a built DIEN-shaped model whose training loss carries the auxiliary loss declared in the spec."""
from __future__ import annotations

import numpy as np
import pytest

import recdsl
from recdsl.lang.errors import SpecErrors

HEAD = """model m
feature a : id(buckets=30, dim=4)
feature c : category(size=5, dim=2)
feature g : multi(category(size=5, dim=4), max_len=3)
feature s : sequence(of=a, max_len=6)
feature t : sequence(of=c, max_len=6)
"""


def check(tmp_path, lines: str, out: str = "x"):
    path = tmp_path / "s.rec"
    path.write_text(HEAD + lines + f"\noutput y = sigmoid(concat({out}))\n", encoding="utf-8")
    return recdsl.check(path)


def error_of(tmp_path, lines: str):
    with pytest.raises(SpecErrors) as caught:
        check(tmp_path, lines)
    (error,) = [e for e in caught.value.errors if e.severity == "error"]
    return error


def gru(d: int, h: int, gates: int = 3, reset_after: bool = False) -> int:
    return gates * (d * h + h * h + h) + (gates * h if reset_after else 0)


def dense(a: int, b: int) -> int:
    return a * b + b


@pytest.mark.parametrize("line,shape,params", [
    ("block x = gru(s, output=final)", ("B", 4), gru(4, 4)),
    ("block x = gru([s, t], units=5, output=final, reset_after=true)", ("B", 5), gru(6, 5, reset_after=True)),
    ("block x = gru(s, units=3, output=final, aux_loss=1.0)", ("B", 3),
     gru(4, 3) + dense(3 + 4, 100) + dense(100, 50) + dense(50, 1)),
    ("block x = gru(s, output=final, aux_loss=0.5, aux_net=dot)", ("B", 4), gru(4, 4)),
    ("block h = gru([s, t], aux_loss=1.0, aux_units=[8])\npool x = augru(query=[a, c], keys=h)", ("B", 6),
     dense(4 * 6, 64) + dense(64, 16) + dense(16, 1) + (64 + 16) + gru(6, 6)),
    ("block h = gru(s)\npool x = augru(query=a, keys=h, variant=agru, units=2, att_units=[5], att_activation=relu)",
     ("B", 2), dense(16, 5) + dense(5, 1) + gru(4, 2, gates=2)),
    ("block h = gru(s)\npool x = augru(query=a, keys=h, variant=aigru, reset_after=true, att_activation=sigmoid)",
     ("B", 4), dense(16, 64) + dense(64, 16) + dense(16, 1) + gru(4, 4, reset_after=True)),
])
def test_types_and_counts(tmp_path, line, shape, params):
    node = check(tmp_path, line).node("x")
    assert node.type.shape == shape
    assert node.params == params


def test_a_sequence_output_is_a_sequence(tmp_path):
    spec = check(tmp_path, "block x = gru(s, units=3)", out="avg(x)")
    assert spec.node("x").type.shape == ("B", 6, 3) and type(spec.node("x").type).__name__ == "SeqType"


@pytest.mark.parametrize("lines,at,message", [
    ("block x = gru(g, output=final)", "g",
     "gru runs over an ordered sequence, but a multi-valued bag [B, 3, 4] has no order"),
    ("block h = gru(s, units=3)\npool x = augru(query=a, keys=h)", "a",
     "augru's attention compares the query with each state: the query is 4 wide (a:4) but the states are 3 wide"),
    ("block x = gru(s, units=3, output=final, aux_loss=1.0, aux_net=dot)", "dot)",
     "aux_net=dot scores h_t . e_(t+1): the states are 3 wide but the sequence is 4 wide"),
    ("block x = gru(s, output=final, aux_net=dot)", "dot)",
     "aux_net= configures the auxiliary loss, but aux_loss is 0 (no auxiliary loss)"),
    ("block x = gru(s, output=final, aux_units=[4])", "[4]",
     "aux_units= configures the auxiliary loss, but aux_loss is 0 (no auxiliary loss)"),
    ("block h = gru(s)\npool x = augru(query=a, keys=h, att_activation=relu, alpha_init=0.1)", "0.1)",
     "alpha_init=0.1 sets the initial slope of prelu or dice, but att_activation is relu"),
    ("block x = gru(s, output=final, aux_loss=-1.0)", "-1.0", None),
])
def test_misuse_is_an_error_at_the_argument(tmp_path, lines, at, message):
    error = error_of(tmp_path, lines)
    if message is not None:
        assert error.message == message
    line = (HEAD + lines).splitlines()[error.span.line - 1]
    assert line[error.span.column - 1:].startswith(at), (line, error.span)


def test_one_step_has_no_pair_for_the_auxiliary_loss(tmp_path):
    path = tmp_path / "s.rec"
    path.write_text(HEAD.replace("max_len=6)\nfeature t", "max_len=1)\nfeature t")
                    + "block x = gru(s, output=final, aux_loss=1.0)\noutput y = sigmoid(x)\n", encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        recdsl.check(path)
    (error,) = [e for e in caught.value.errors if e.severity == "error"]
    assert error.message == "the auxiliary loss pairs each step with the next one, but the sequence has 1 step"


def test_built_model_trains_with_the_declared_auxiliary_loss(tmp_path):
    """The emitted model's training loss is the head's log loss plus alpha * L_aux of the gru layer."""
    keras = pytest.importorskip("keras")
    from recdsl.emitter import Emitter

    path = tmp_path / "dien.rec"
    path.write_text(HEAD.replace("feature g : multi(category(size=5, dim=4), max_len=3)\n", "")
                    + "block h = gru([s, t], aux_loss=0.3, aux_units=[5])\n"
                    + "pool x = augru(query=[a, c], keys=h, att_units=[4])\noutput y = sigmoid(concat(x))\n")
    spec = recdsl.check(path)
    assert not spec.warnings
    keras.utils.set_random_seed(3)
    emitter = Emitter(spec)
    model = emitter.run()
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == spec.total_params
    r = np.random.default_rng(0)
    lengths = np.array([6, 0, 3, 1, 5, 2])
    feed = {}
    for name, t in model.input.items():
        if len(t.shape) == 2:
            feed[name] = np.where(np.arange(6)[None] < lengths[:, None], r.integers(2, 7, (6, 6)), 0).astype("int32")
        else:
            feed[name] = r.integers(2, 7, (6,)).astype("int32")
    y = r.integers(0, 2, (6, 1)).astype("float32")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss={"y": "binary_crossentropy"})
    p = keras.ops.convert_to_numpy(model(feed)["y"]).astype("float64")
    data = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    call = emitter.calls["h"]
    sequence, mask = keras.Model(model.inputs, [call.tensors[0], call.mask]).predict(feed, verbose=0)
    aux = float(keras.ops.convert_to_numpy(emitter.layers["h"].auxiliary_loss(sequence, mask)))
    assert aux > 0 and np.array_equal(mask.astype(bool), feed["s"] > 0)
    loss = float(model.train_on_batch(feed, {"y": y}, return_dict=True)["loss"])
    np.testing.assert_allclose(loss, data + 0.3 * aux, rtol=1e-5)
