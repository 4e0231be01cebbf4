"""Every bundled spec checks cleanly, renders, and converts both ways to an equal AST."""
from __future__ import annotations

from pathlib import Path

import pytest

import recdsl
from recdsl.cli.main import main

SPECS = sorted((Path(__file__).resolve().parent.parent / "specs").glob("*.rec"))


def test_the_bundled_specs_are_there():
    names = {p.stem for p in SPECS}
    assert {"din", "senet_poso", "attention", "dual_attention", "dcn", "multitask"} <= names
    # the articles' models (docs/language.md, "The articles as specs")
    assert {"din_fcn", "target_scores", "traditional", "merged_attention", "multihead", "bst", "senet_dim"} <= names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_checks_without_warnings(path):
    spec = recdsl.typecheck(path)
    assert spec.outputs, "every example has an output"
    assert not spec.warnings, [w.message for w in spec.warnings]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_renders_every_node(path, tmp_path):
    out = tmp_path / f"{path.stem}.svg"
    assert main(["render", str(path), "-o", str(out)]) == 0
    svg = out.read_text()
    spec = recdsl.typecheck(path)
    for node in spec.nodes:
        assert f">{node.name}<" in svg, node.name


def test_multitask_outputs_carry_weights_and_labels():
    spec = recdsl.typecheck(next(p for p in SPECS if p.stem == "multitask"))
    heads = {n.name: (n.arg("weight"), n.arg("label")) for n in spec.outputs}
    assert heads == {"ctr": (1.0, "clicked"), "cvr": (0.5, "converted")}


def test_attention_example_shares_weights_and_tables():
    spec = recdsl.typecheck(next(p for p in SPECS if p.stem == "attention"))
    merged, target = spec.node("merged"), spec.node("target")
    assert (merged.shares, merged.share_kind, merged.params) == ("target", "weights", 0)
    assert target.params > 0
    hist = spec.node("hist_items")
    assert (hist.shares, hist.share_kind, hist.params) == ("item_id", "table", 0)


def test_merged_attention_holds_one_set_of_shared_weights_and_trains_it():
    """specs/merged_attention.rec: the target passes the history's self-attention layer itself, the
    traditional and the target attention borrow its W_K, b_K: one variable each in model.weights,
    changed by a few training steps and still the same variable in every layer."""
    keras = pytest.importorskip("keras")
    import numpy as np

    from recdsl.emitter import emit

    spec = recdsl.typecheck(next(p for p in SPECS if p.stem == "merged_attention"))
    assert (spec.node("target_self").shares, spec.node("target_self").borrows) == ("history_self", ())
    for name in ("history_trad", "interest"):
        assert (spec.node(name).shares, spec.node(name).borrows) == ("history_self", ("key", "key_bias"))
    model = emit(spec)
    assert len(model.weights) == len({id(w) for w in model.weights})
    owner = model.get_layer("history_self").weights_by_role()
    key = owner["key"]
    for name in ("history_trad", "interest"):
        roles = model.get_layer(name).weights_by_role()
        assert roles["key"] is key and roles["key_bias"] is owner["key_bias"]
    assert sum(w is key for w in model.trainable_weights) == 1
    rng = np.random.default_rng(3)
    x = {"user_id": rng.integers(1, 50, 64), "item_id": rng.integers(1, 50, 64),
         "hist_items": rng.integers(0, 50, (64, 30))}
    x = {k: v.astype("int32") for k, v in x.items()}
    y = (x["item_id"] % 2).astype("float32")[:, None]
    before = keras.ops.convert_to_numpy(key.value).copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    losses = model.fit(x, {"ctr": y}, epochs=3, batch_size=32, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses))
    assert not np.allclose(keras.ops.convert_to_numpy(key.value), before)
    assert model.get_layer("history_trad").kernel is key
