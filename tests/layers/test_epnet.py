import numpy as np
import pytest

from recdsl.layers.epnet import EPNetGate
from recdsl.ops.types import StackType, VectorType

from . import reference as ref
from .layer_check import (
    assert_close,
    central_difference,
    check_layer,
    check_mixed,
    gradients,
    randomize,
    registry_count,
    rng,
    to_numpy,
)


def epnet_reference(layer, fields, by, fields_for_gate=None):
    """g * E with g from [by, flatten(E)] (the gate may read another E: the stop-gradient's constant)."""
    b, f, d = fields.shape
    seen = fields if fields_for_gate is None else fields_for_gate
    g = ref.gate_nu(layer.gate, np.concatenate([by, seen.reshape(b, f * d)], -1))
    return fields * g.reshape((b, f, d) if layer.granularity == "dim" else (b, f, 1))


CASES = [  # batch, fields, dim, by width, units, granularity, scale
    (4, 3, 5, 2, 6, "dim", 2.0),
    (1, 1, 4, 3, 2, "field", 2.0),
    (3, 4, 2, 1, 5, "field", 1.0),
]


def inputs(r, batch, fields, dim, by_width):
    return r.normal(size=(batch, fields, dim)).astype("float32"), r.normal(size=(batch, by_width)).astype("float32")


@pytest.mark.parametrize("batch, fields, dim, by_width, units, granularity, scale", CASES)
def test_matches_numpy(batch, fields, dim, by_width, units, granularity, scale, tmp_path):
    e, by = inputs(rng(1), batch, fields, dim, by_width)
    layer = EPNetGate(units=units, scale=scale, granularity=granularity)
    layer.build([e.shape, by.shape])
    randomize(layer, 2)
    params = registry_count("epnet", {"fields": StackType(fields, dim), "by": VectorType(by_width)},
                            {"units": units, "granularity": granularity})
    out = check_layer(layer, [e, by], params=params, tmp_path=tmp_path)
    assert_close(out, epnet_reference(layer, e.astype("float64"), by.astype("float64")))


def test_parameters_by_hand():
    """10 fields of 16, a 16-wide domain feature: gate 176 -> 64 -> 160 (dim) or 10 (field)."""
    slots = {"fields": StackType(10, 16), "by": VectorType(16)}
    assert registry_count("epnet", slots) == (176 * 64 + 64) + (64 * 160 + 160)
    assert registry_count("epnet", slots, {"granularity": "field"}) == (176 * 64 + 64) + (64 * 10 + 10)


@pytest.mark.parametrize("stop", [True, False])
def test_the_stop_gradient_cuts_the_gate_path(stop):
    """With the stop-gradient, d out / d E is the gate alone (g * c): the gate's input is a constant.
    Without it the gate path adds its part: central differences through both paths."""
    r = rng(3)
    e, by = inputs(r, 2, 3, 2, 2)
    c = r.normal(size=e.shape).astype("float32")
    layer = EPNetGate(units=4, stop_gradient=stop)
    layer.build([e.shape, by.shape])
    randomize(layer, 4)
    grad_e, grad_by = gradients(layer, [e, by], c)[:2]
    e64, by64 = e.astype("float64"), by.astype("float64")
    frozen = central_difference(lambda x: np.sum(c * epnet_reference(layer, x, by64, fields_for_gate=e64)), e64)
    full = central_difference(lambda x: np.sum(c * epnet_reference(layer, x, by64)), e64)
    assert_close(grad_e, frozen if stop else full, rtol=1e-4)
    assert np.max(np.abs(frozen - full)) > 1e-3  # the gate path is not negligible here
    assert_close(grad_by, central_difference(lambda b: np.sum(c * epnet_reference(layer, e64, b)), by64), rtol=1e-4)


def test_a_gate_lies_between_zero_and_scale():
    e, by = np.ones((5, 3, 4), "float32"), rng(5).normal(size=(5, 2)).astype("float32") * 10
    layer = EPNetGate(units=3, scale=2.0)
    layer.build([e.shape, by.shape])
    randomize(layer, 6, scale=3.0)
    out = to_numpy(layer([e, by]))
    assert np.all(out >= 0) and np.all(out <= 2) and out.min() < 0.5 and out.max() > 1.5


def test_mixed_precision():
    e, by = inputs(rng(7), 3, 2, 4, 3)
    check_mixed(lambda dtype: EPNetGate(units=3, dtype=dtype), [e, by])


def test_unknown_granularity_is_refused():
    with pytest.raises(ValueError, match="granularity must be one of"):
        EPNetGate(granularity="row")
