"""Every argument a pool/gate/block/output op declares reaches its Keras layer, unless the registry
marks it as configuring the spec (share=, weight=, label=): a dropped argument would silently build
another model."""
from __future__ import annotations

import inspect

import pytest

pytest.importorskip("keras")

import recdsl  # noqa: E402
from recdsl.emitter import emit  # noqa: E402
from recdsl.layers import load_layer  # noqa: E402
from recdsl.ops import load  # noqa: E402

SPEC_ONLY = {"share", "weight", "label"}


@pytest.mark.parametrize("op", sorted(n for n, o in load().items() if o.family != "feature"))
def test_every_layer_argument_is_passed(op):
    spec = load()[op]
    accepted = inspect.signature(load_layer(spec.layer).__init__).parameters
    for param in spec.params:
        if param.name in SPEC_ONLY:
            assert not param.to_layer, f"{op}: {param.name} configures the spec, not the layer"
            continue
        assert param.name in accepted, f"{op}: {param.name} is not an argument of {spec.layer}"
        assert param.to_layer, f"{op}: {param.name} would be dropped by the emitter"


def test_din_normalize_and_output_reach_the_layer(tmp_path):
    path = tmp_path / "s.rec"
    path.write_text(
        "model m\n"
        "feature item : id(buckets=50, dim=4)\n"
        "feature hist : sequence(of=item, max_len=5)\n"
        "pool soft = din(query=item, keys=hist, units=[4], normalize=softmax)\n"
        "pool raw  = din(query=item, keys=hist, units=[4])\n"
        "output y = sigmoid(concat(soft, raw))\n", encoding="utf-8")
    model = emit(recdsl.typecheck(path))
    assert model.get_layer("soft").normalize == "softmax"
    assert model.get_layer("raw").normalize == "none"
