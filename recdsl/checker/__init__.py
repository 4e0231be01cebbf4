"""2. AST -> CheckedSpec: names resolved, arguments validated, types, shapes and parameters.

Modules, each importing only those above it: problems (what the parts report), spec (the
output), forms (input slot coercion), binding (call -> slots), arguments (values by Param
kind, through a Resolver), memory (the bytes of every table and of the model, against the
machine's memory), checker (drives it all)."""
from __future__ import annotations

from recdsl.checker.checker import check

__all__ = ["check", "check_file"]


def check_file(path):
    """Read a .rec or .yaml spec and type-check it; raises SpecErrors listing every problem."""
    from recdsl.lang.loader import load_spec, read_sources

    return check(load_spec(path), read_sources(path))
