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
