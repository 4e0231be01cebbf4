"""recdsl: a declarative language and compiler for deep recommendation models.

    import recdsl
    spec = recdsl.typecheck("specs/din.rec")     # parse + type check (no TensorFlow import)
    graph = recdsl.dependency_graph(spec)        # networkx.DiGraph
    recdsl.draw(spec, "din.svg")                 # architecture diagram

(The functions are named apart from the modules recdsl.checker.checker, recdsl.graph and recdsl.diagram.)
"""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"


def load(path: str | Path):
    """Read a .rec or .yaml spec into its AST."""
    from recdsl.lang.loader import load_spec

    return load_spec(path)


def typecheck(path_or_spec):
    """Parse (if given a path) and type-check a spec; raises SpecErrors listing every problem."""
    from recdsl.checker.checker import check as _check
    from recdsl.lang.loader import read_sources

    if isinstance(path_or_spec, (str, Path)):
        spec = load(path_or_spec)
        return _check(spec, read_sources(path_or_spec))
    return _check(path_or_spec)


def dependency_graph(path_or_spec):
    """The dependency graph (networkx.DiGraph) of a spec path or CheckedSpec."""
    from recdsl.graph import build_graph
    from recdsl.checker.spec import CheckedSpec

    spec = path_or_spec if isinstance(path_or_spec, CheckedSpec) else typecheck(path_or_spec)
    return build_graph(spec)


def draw(path_or_spec, out: str | Path) -> Path:
    """Write the architecture diagram (.svg, .png, .pdf or .dot)."""
    from recdsl.diagram import render as _render

    return _render(dependency_graph(path_or_spec), out)


def load_model(path: str | Path, compile: bool = False):
    """A saved recdsl model (`recdsl build`'s or a run's model.keras) as a keras.Model."""
    import keras

    from recdsl.layers import register_all

    register_all()
    return keras.saving.load_model(path, compile=compile)
