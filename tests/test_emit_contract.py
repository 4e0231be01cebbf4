"""The emit contract, op by op: a one-node spec for every registered op, with every input slot
bound (optional ones and those of nested calls included) and every layer argument given a
non-default value, must reach the layer exactly: each argument in its config, each slot's
tensor in the call (in declaration order, with its shape), the mask of every "consume" slot
passed as mask=, and the mask kept on sequence outputs. A new op without a case here fails."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import recdsl  # noqa: E402
from recdsl.emitter import Emitter, layer_name  # noqa: E402
from recdsl.ops import load  # noqa: E402
from recdsl.ops.types import BagType, SeqType  # noqa: E402

FEATURES = """model one
feature a : id(buckets=20, dim=4)
feature b : id(buckets=20, dim=4)
feature c : category(size=5, dim=4)
feature n : numeric(size=3)
feature s : sequence(of=a, max_len=5)
feature t : sequence(of=b, max_len=5)
"""

#: op -> the statement(s) defining node `x`; between them every layer argument leaves its default
CASES = {
    "sum": "pool x = sum(s)",
    "avg": "pool x = avg(s)",
    "max": "pool x = max(s)",
    "din": "pool x = din(query=[a], keys=[s], units=[6, 3], activation=prelu, normalize=softmax, output=sequence, "
           "alpha_init=0.1)",
    "attention": ["pool x = attention(query=a, keys=s, values=t, score=additive, transform=false, units=7, "
                  "output=sequence)",
                  "pool x = attention(query=a, keys=s, values=t, key_bias=false, scale=mean, output=sequence)"],
    "poso": "gate x = poso(n, by=[a, c], units=5, scale=1.5)",
    "senet": ["gate x = senet([a, b, c], reduction=2, granularity=dim)",
              "gate x = senet([a, b, c], granularity=dim_shared, squeeze=dense)"],
    "mlp": "block x = mlp(n, units=[6, 3], activation=prelu, alpha_init=0.25, dropout=0.2, norm=layer, gate=poso(by=[a], units=4, "
           "scale=3.0))",
    "fm": "block x = fm([a, b, c], reduce=false)",
    "cross": ["block x = cross([a, n], layers=3, version=v2, rank=2)", "block x = cross([a, n], version=v1)"],
    "bilinear": "block x = bilinear([a, b, c], type=field_each)",
    "dot": "block x = dot([a, b], self_interaction=true)",
    "self_attention": ["block x = self_attention(s, heads=3, head_dim=2, layers=2, residual=false)",
                       "block x = self_attention(s, style=standard, project=false, heads=2, layers=2, bias=true, "
                       "activation=gelu, output_proj=6)"],
    "transformer": "block x = transformer(s, heads=4, ff=8, layers=2, dropout=0.1, causal=true)",
    "concat": "block x = concat(a, n, c)",
    "add": "block x = add(s, t)",
    "subtract": "block x = subtract(s, t)",
    "traditional_attention": "pool x = traditional_attention(s, units=6, activation=dice, output=sequence, alpha_init=0.3)",
    "multiply": "block x = multiply(a, b)",
    "sigmoid": "output x = sigmoid(n)",
    "linear": "output x = linear(n)",
    "positions": ["block x = positions(s, kind=sinusoidal, mode=concat, order=oldest_first, dim=3)",
                  "block x = positions([s, t])"],
    "append": "block x = append([s, t], [a, b])",
    "cross_attention": ["block x = cross_attention(query=[a, b], keys=s, values=t, style=autoint, heads=3, head_dim=2, "
                        "layers=2, residual=false, bias=true, activation=tanh, output_proj=5)",
                        "block x = cross_attention(query=a, keys=s, values=t, project=false, heads=4)"],
    "fwfm": "block x = fwfm([a, b, c])",
    "afm": "block x = afm([a, b, c], units=3, dropout=0.2, reduce=false)",
    "outer_product": ["block x = outer_product([a, b, c], kernel=vec)", "block x = outer_product([a, b], kernel=num)"],
    "cin": ["block x = cin([a, b, c], sizes=[4, 3], activation=tanh)",
            "block x = cin([a, b], sizes=[3, 2], split_half=false)"],
    "cross_mix": "block x = cross_mix([a, n], layers=3, experts=2, rank=3)",
    "gated_cross": "block x = gated_cross([a, n], layers=2)",
    "mixture": "gate x = mixture([a, b, c], by=[a, n])",
    "product": "output p = sigmoid(n)\noutput q = sigmoid(a, weight=0)\noutput x = product(p, q, weight=0.5)",
    "attention_weights": "output x = attention_weights(d)\npool d = din(query=a, keys=s)",
    "maskblock": "block x = maskblock([a, b, c], hidden=n, units=5, reduction=2, norm=layer, dropout=0.2)",
    "feature_selection": "gate x = feature_selection([a, b], by=[c, n], units=[3, 2], context_dim=5)",
    "bilinear_fusion": "block x = bilinear_fusion([a, b], c, heads=4)",
    "gru": ["block x = gru(s, units=3, output=final, reset_after=true, aux_loss=0.5, aux_units=[4])",
            "block x = gru(s, output=final, aux_loss=1.0, aux_net=dot)"],
    "augru": "pool x = augru(query=a, keys=s, units=3, variant=agru, att_units=[5, 2], att_activation=prelu, "
             "reset_after=true, alpha_init=0.1)",
    "wide": "block x = wide([a, s], c, n, t)",
    "epnet": "gate x = epnet([a, b, c], by=[n], units=5, scale=1.5, granularity=field, stop_gradient=false)",
    "ppnet": "block x = ppnet([a, n], by=[b, c], units=[6, 3], gate_units=4, scale=1.5, activation=prelu, "
             "dropout=0.2, stop_gradient=false)",
}

OPS = sorted(name for name, op in load().items() if op.family != "feature")
RUNS = [(op, i) for op in OPS for i in range(len(CASES[op]) if isinstance(CASES.get(op), list) else 1)]


def test_every_op_has_a_case():
    assert sorted(CASES) == OPS


def _statement(op: str, i: int) -> str:
    return CASES[op][i] if isinstance(CASES[op], list) else CASES[op]


@pytest.mark.parametrize("op", OPS)
def test_cases_move_every_layer_argument_off_its_default(tmp_path, op):
    nodes = [_spec(tmp_path, o, i).node("x") for o, i in RUNS if o == op]
    for param in load()[op].layer_params:
        assert any(node.arg(param.name) != param.default for node in nodes), \
            f"give {op}'s {param.name} a non-default value in CASES"


def _spec(tmp_path, op: str, i: int = 0):
    statement = _statement(op, i)
    tail = ""
    if not statement.startswith("output"):
        # sequences are pooled, anything else flattened, before the head
        tail = "output y = sigmoid(concat(avg(x)))\n" if op in ("din", "attention", "self_attention", "transformer",
                                                              "add", "subtract", "traditional_attention", "positions",
                                                              "append") else \
            "output y = sigmoid(concat(x))\n"
    path = tmp_path / f"{op}{i}.rec"
    path.write_text(FEATURES + statement + "\n" + tail, encoding="utf-8")
    return recdsl.typecheck(path)


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("op,i", RUNS)
def test_every_slot_argument_and_mask_reaches_the_layer(tmp_path, op, i):
    spec = _spec(tmp_path, op, i)
    opspec, node = load()[op], spec.node("x")
    emitter = Emitter(spec)
    emitter.run()
    layer = emitter.layers["x"]
    assert layer.name == layer_name("x")

    config = layer.get_config()
    for param in opspec.layer_params:
        assert _same(config[param.name], node.arg(param.name)), (param.name, config[param.name])
    for key, value in opspec.layer_args:
        assert config[key] == value

    roles = [slot.name for slot in opspec.inputs]
    for param in opspec.params:
        value = node.arg(param.name)
        if param.kind == "call":
            assert isinstance(value, dict), f"bind {op}'s nested {param.name}=... in CASES"
            roles += [f"{param.name}.{slot.name}" for slot in load()[value["op"]].inputs if slot.name != "x"]
    bound = [b.role for b in node.inputs]
    assert all(role in bound for role in roles), f"CASES[{op!r}] must bind every slot: {roles}"

    call = emitter.calls["x"]
    if any(slot.accepts == "features" for slot in opspec.inputs):  # model inputs, one per feature
        read = [m for b in node.inputs for m in b.members]
        assert call.tensors == [emitter.inputs[m] for m in read] and not call.single and call.mask is None
        assert [f["name"] for f in config["features"]] == read
        return
    if getattr(layer, "reads_attention_call", False):  # the attention node's output, then its own call
        source = node.inputs[0].members[0]
        assert call.tensors == [emitter.values[source].tensor, *emitter.calls[source].tensors]
        assert call.mask is emitter.calls[source].mask is not None and config["single"] is False
        return
    variadic = any(slot.variadic for slot in opspec.inputs)
    assert len(call.tensors) == len(node.inputs)  # one tensor per binding: a list argument is joined
    assert call.single == (len(call.tensors) == 1 and not variadic)
    # what the layer was called with (Keras lists a mask passed as mask= after the inputs)
    seen = layer.input if isinstance(layer.input, list) else [layer.input]
    assert seen[:len(call.tensors)] == call.tensors
    assert seen[len(call.tensors):] == ([call.mask] if call.mask is not None else [])
    widths = [t.shape[-1] for t in call.tensors]
    types = [t for _, group in node.input_types for t in (group if isinstance(group, tuple) else (group,))]
    assert widths[:len(types)] == [t.shape[-1] if len(t.shape) == 3 else t.width for t in types]

    consumes = [slot for slot in opspec.inputs if slot.mask == "consume"]
    if consumes:
        source = next(b for b in node.inputs if b.role == consumes[0].name).members[0]
        assert call.mask is emitter.values[source].mask and call.mask is not None
    else:
        assert call.mask is None
    if isinstance(node.type, (SeqType, BagType)):
        assert emitter.values["x"].mask is not None, "a sequence output keeps its mask"


#: One-field inputs of ops that take a field list or a sequence, beside the CASES above.
ONE_FIELD = [
    "block x = self_attention(a, heads=2)", "block x = self_attention([a], heads=1, residual=false)",
    "block x = transformer(a, heads=2)", "block x = transformer([c], heads=1, layers=2)",
    "gate x = senet(a)", "gate x = senet([a], granularity=dim)", "block x = fm(a)", "block x = fm([a], reduce=false)",
    "block x = dot(a, self_interaction=true)", "block x = add(a)", "block x = multiply([a])", "block x = concat(a)",
    "block x = subtract(a, b)",
    "block x = self_attention(a, style=standard, project=false, heads=1)",
    "block x = cross_attention(query=a, keys=[a, b, c])", "block x = cross_attention(query=[a], keys=s, heads=1)",
    "block x = cin(a, sizes=[2, 3])", "block x = cin([c], sizes=[3], split_half=false)",
    "block x = maskblock(a, units=3)", "block x = maskblock([a, b], units=2, norm=none)",
    "gate x = feature_selection(a)", "block x = bilinear_fusion(a, n)",
]
ROWS = [(op, i, None) for op, i in RUNS] + [(None, 0, statement) for statement in ONE_FIELD]


def _batch(model, rng, rows: int) -> dict:
    """Random model inputs: ids in range (padding at the end of some histories), floats."""
    out = {}
    for name, t in model.input.items():
        shape = (rows,) + tuple(t.shape[1:])
        if "int" in str(t.dtype):
            x = rng.integers(2, 7, shape).astype("int32")  # within every table (c has 5 + 2 rows)
            if len(shape) == 2:
                x[np.arange(shape[1])[None, :] >= rng.integers(0, shape[1] + 1, (rows, 1))] = 0
            out[name] = x
        else:
            out[name] = rng.normal(size=shape).astype("float32")
    return out


@pytest.mark.parametrize("op,i,statement", ROWS)
def test_a_row_never_changes_another_rows_output(tmp_path, op, i, statement):
    """Two batches that differ in one row give every other row the same outputs, with one-field
    inputs too, and at a batch size that is not a multiple of any width (9 rows)."""
    if statement is not None:
        path = tmp_path / "one.rec"
        path.write_text(FEATURES + statement + "\noutput y = sigmoid(concat(x))\n", encoding="utf-8")
        spec = recdsl.typecheck(path)
    else:
        spec = _spec(tmp_path, op, i)
    model = Emitter(spec).run()
    probe = keras.Model(model.inputs, model.get_layer(layer_name("x")).output)
    rng = np.random.default_rng(7)
    first = _batch(model, rng, 9)
    second = {k: v.copy() for k, v in first.items()}
    changed = _batch(model, rng, 1)
    for k in second:
        second[k][3] = changed[k][0]
    a, b = probe.predict(first, verbose=0), probe.predict(second, verbose=0)
    assert a.shape[0] == 9 and a.shape[1:] == tuple(d for d in spec.node("x").type.shape[1:])
    keep = np.arange(9) != 3
    np.testing.assert_allclose(a[keep], b[keep], rtol=1e-6, atol=1e-6)
