"""subtract(a, b): exactly two inputs of one shape, a located error otherwise."""
from __future__ import annotations

import pytest

import recdsl
from recdsl.lang.errors import SpecErrors

HEAD = """model m
feature a : id(buckets=10, dim=4)
feature b : id(buckets=10, dim=4)
feature c : id(buckets=10, dim=8)
"""


def check(tmp_path, line: str):
    path = tmp_path / "s.rec"
    path.write_text(HEAD + line + "\noutput y = sigmoid(x)\n", encoding="utf-8")
    return recdsl.check(path)


def test_two_inputs_of_one_shape(tmp_path):
    assert check(tmp_path, "block x = subtract(a, b)").node("x").type.shape == ("B", 4)


def test_three_inputs_are_refused_at_the_argument(tmp_path):
    with pytest.raises(SpecErrors) as caught:
        check(tmp_path, "block x = subtract(a, b, a)")
    (error,) = [e for e in caught.value.errors if e.severity == "error"]
    assert error.message == "subtract takes exactly two inputs, got 3"
    assert error.hint == "write subtract(a, b) for a - b"
    assert (error.span.line, error.span.column) == (5, 20)


def test_shapes_must_agree(tmp_path):
    with pytest.raises(SpecErrors) as caught:
        check(tmp_path, "block x = subtract(a, c)")
    (error,) = [e for e in caught.value.errors if e.severity == "error"]
    assert error.message == "subtract needs inputs of one shape, got a [B, 4], c [B, 8]"
