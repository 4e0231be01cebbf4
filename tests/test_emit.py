"""Every bundled spec compiles to a Keras model whose per-node parameter counts equal the
checker's, trains (XLA-compiled; eagerly under PyTorch) with finite decreasing loss, and
reloads with identical predictions. `recdsl build` writes its folder and refuses to overwrite one."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import recdsl  # noqa: E402
from recdsl.cli.main import main  # noqa: E402
from recdsl.data.schema import schema_of  # noqa: E402
from recdsl.emitter import emit, feature_layer_name, layer_name, layer_params  # noqa: E402

SPECS = sorted((Path(__file__).resolve().parent.parent / "specs").glob("*.rec"))

# XLA under TensorFlow (and JAX). Under PyTorch, jit_compile=True means torch.compile
# (dynamo + inductor): it works, but compiling the six spec models takes over ten minutes
# on a 2-core CPU runner, so the torch run trains eagerly (what "auto" picks on torch).
JIT = keras.backend.backend() != "torch"


def random_inputs(model, rows: int, rng) -> dict:
    batch = {}
    for name, tensor in model.input.items():
        shape = (rows,) + tuple(tensor.shape[1:])
        if "int" in str(tensor.dtype):
            batch[name] = rng.integers(0, 4, size=shape).astype("int32")  # every table has >= 4 rows
        else:
            batch[name] = rng.normal(size=shape).astype("float32")
    return batch


@pytest.fixture(scope="module", params=SPECS, ids=lambda p: p.stem)
def compiled(request):
    spec = recdsl.typecheck(request.param)
    return spec, emit(spec)


def test_parameter_counts_match_the_checker_per_node(compiled):
    spec, model = compiled
    for node in spec.nodes:
        assert layer_params(model, node) == node.params, node.name
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == spec.total_params


def test_layers_and_inputs_carry_spec_names(compiled):
    spec, model = compiled
    features = {n.name for n in spec.nodes if n.kind == "feature"}
    assert set(model.input) == features
    layer_names = {layer.name for layer in model.layers}
    for node in spec.nodes:
        if node.kind in ("pool", "gate", "block", "output") and node.share_kind is None:
            assert layer_name(node.name) in layer_names
    assert set(model.output) == {n.name for n in spec.outputs}


def test_names_are_valid_torch_parameter_names(compiled):
    """Keras' PyTorch backend registers each variable as a torch parameter named by its path
    (LAYER/VARIABLE), and torch rejects "." in parameter names, so the emitter's own layer
    names join a spec name and a role with "-" (`item_id-embed`, `ctr-concat` for the nested
    call the checker names `ctr.concat`), never "." (regression: `NAME.embed` made every
    spec fail to build under KERAS_BACKEND=torch)."""
    spec, model = compiled
    assert not [layer.name for layer in model.layers if "." in layer.name]
    assert not [w.path for w in model.weights if "." in w.path]
    for node in spec.nodes:
        if node.kind == "feature" and node.share_kind is None and node.params:
            assert model.get_layer(feature_layer_name(node.name)).name == f"{node.name}-embed"


NESTED = """\
model nested "a nested call with weights"
feature item_id : id(buckets=100, dim=8)
feature user_id : id(buckets=100, dim=8)
block deep = mlp([item_id, cross([item_id, user_id], layers=1)], units=[8])
output ctr = sigmoid(deep)
"""


def test_a_nested_call_with_weights_builds_and_counts(tmp_path):
    """The checker names the nested cross `deep.cross`; its layer is `deep-cross` (regression:
    under PyTorch a weighted layer named with "." failed to build)."""
    path = tmp_path / "nested.rec"
    path.write_text(NESTED)
    spec = recdsl.typecheck(path)
    model = emit(spec)
    assert "deep.cross" in {n.name for n in spec.nodes}
    assert model.get_layer("deep-cross").name == layer_name("deep.cross")
    for node in spec.nodes:
        assert layer_params(model, node) == node.params, node.name
    scores = model.predict(random_inputs(model, 4, np.random.default_rng(0)), verbose=0)["ctr"]
    assert scores.shape == (4, 1) and np.all(np.isfinite(scores))


@pytest.mark.slow
def test_trains_with_xla_and_reloads_identically(compiled, tmp_path):
    spec, model = compiled
    rng = np.random.default_rng(7)
    x = random_inputs(model, 64, rng)
    # a learnable target: the label is the parity of one id input, so it is 0 or 1
    # (binary cross-entropy under PyTorch rejects targets outside [0, 1])
    first = sorted(name for name in x if x[name].dtype.kind == "i")[0]
    signal = (x[first].reshape(64, -1)[:, 0] % 2).astype("float32")[:, None]
    assert set(np.unique(signal)) <= {0.0, 1.0}
    trained = [spec.node(lab.output) for lab in schema_of(spec).labels]  # not the served-only outputs
    y = {o.name: signal for o in trained}
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss={o.name: "binary_crossentropy" for o in trained},
                  loss_weights={o.name: o.arg("weight") for o in trained}, jit_compile=JIT)
    losses = model.fit(x, y, epochs=8, batch_size=32, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses))
    assert min(losses[-3:]) < losses[0], losses
    path = tmp_path / "model.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    before, after = model.predict(x, verbose=0), again.predict(x, verbose=0)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])


def test_fully_padded_sequences_give_finite_scores(compiled):
    spec, model = compiled
    x = random_inputs(model, 8, np.random.default_rng(1))
    for node in spec.nodes:
        if node.op in ("multi", "sequence"):
            x[node.name] = np.zeros_like(x[node.name])
    for scores in model.predict(x, verbose=0).values():
        assert np.all(np.isfinite(scores))


def test_build_writes_the_folder_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "din"
    spec_path = next(p for p in SPECS if p.stem == "din")
    assert main(["build", str(spec_path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert {"model.keras", "graph.json", "summary.txt", "din_ctr.svg"} <= {p.name for p in out.iterdir()}
    assert re.search(r"^interest +din +\[B, 32\] +13,721$", printed, re.MULTILINE), printed
    assert "trainable parameters: 2,059,615" in printed
    assert "built din_ctr in" in printed
    stamp = (out / "graph.json").stat().st_mtime_ns
    assert main(["build", str(spec_path), "-o", str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert (out / "graph.json").stat().st_mtime_ns == stamp
    assert main(["build", str(spec_path), "-o", str(out), "--force"]) == 0
    model = keras.saving.load_model(out / "model.keras")
    assert model.name == "din_ctr"
