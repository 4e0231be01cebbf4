"""recdsl: a declarative language and compiler for deep recommendation models.

    import recdsl
    spec = recdsl.check("specs/din.rec")           # parse + type check (no TensorFlow import)
    recdsl.draw(spec, "din.svg")                   # architecture diagram
    model = recdsl.emit(spec)                      # keras.Model
    recdsl.build("specs/din.rec", "out/din")       # what `recdsl build` writes
    run = recdsl.train("specs/din.rec", train="train.parquet", valid="valid.parquet", out="runs/din", epochs=3)
    recdsl.evaluate("runs/din", "test.parquet")    # {output: {"auc": ..., "logloss": ...}}
    recdsl.predict("runs/din", "new.parquet", "scores.parquet")
    recdsl.export("runs/din")                      # SavedModel in runs/din/serving/1

Every function imports what it needs when called: `import recdsl` is instant, and `check`,
`dependency_graph` and `draw` never import TensorFlow or Keras. Errors a user can cause are
`recdsl.errors.RecdslError`s, with the exit code the `recdsl` command would give. The modules
are named apart from the verbs (checker, graph, diagram, emitter, buildfolder, training,
serving), so importing one never hides a function here.
"""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"
__all__ = ["load", "check", "typecheck", "dependency_graph", "draw", "emit", "build", "train", "evaluate",
           "predict", "export", "load_model"]


def load(path: str | Path):
    """Read a .rec or .yaml spec into its AST."""
    from recdsl.lang.loader import load_spec

    return load_spec(path)


def typecheck(path_or_spec):
    """Parse (if given a path) and type-check a spec; raises SpecErrors listing every problem."""
    from recdsl.checker import check as _check
    from recdsl.checker import check_file

    if isinstance(path_or_spec, (str, Path)):
        return check_file(path_or_spec)
    return _check(path_or_spec)


def check(path_or_spec):
    """A spec path or AST -> CheckedSpec (nodes, types, parameter counts, warnings); raises
    SpecErrors listing every problem. The same as `typecheck`, its older name."""
    return typecheck(path_or_spec)


def _checked(path_or_spec):
    from recdsl.checker.spec import CheckedSpec

    return path_or_spec if isinstance(path_or_spec, CheckedSpec) else typecheck(path_or_spec)


def dependency_graph(path_or_spec):
    """The dependency graph (networkx.DiGraph) of a spec path or CheckedSpec."""
    from recdsl.graph import build_graph

    return build_graph(_checked(path_or_spec))


def draw(path_or_spec, out: str | Path) -> Path:
    """Write the architecture diagram (.svg, .png, .pdf or .dot). Without graphviz's `dot`
    program it writes the .dot file and raises recdsl.diagram.GraphvizMissing naming it."""
    from recdsl.diagram import render as _render

    return _render(dependency_graph(path_or_spec), out)


def emit(path_or_spec):
    """The keras.Model of a spec path or CheckedSpec (imports Keras)."""
    from recdsl.emitter import emit as _emit

    return _emit(_checked(path_or_spec))


def build(path_or_spec, out_dir: str | Path, force: bool = False):
    """What `recdsl build` writes: model.keras, graph.json, summary.txt and the diagram in out_dir.
    Returns a recdsl.buildfolder.BuildResult; raises OutputExists for a non-empty out_dir without force."""
    from recdsl.buildfolder import build as _build

    return _build(_checked(path_or_spec), out_dir, force=force)


def train(spec_path: str | Path, train, valid=None, test=None, out: str | Path | None = None, config=None, *,
          force: bool = False, resume: bool = False, verbose: int = 0, log=None, **settings):
    """Train a spec on Parquet/CSV files (paths, folders or globs) and write a run folder
    (default runs/MODEL_NAME), as `recdsl train` does. `config` is a YAML run config path or a
    RunConfig; `settings` override it (epochs=3, batch_size=256, learning_rate=0.01, ...).
    Quiet unless given verbose=1 (Keras progress) and log=print. Returns a RunResult."""
    from recdsl.training.config import RunConfig, load_config
    from recdsl.training.fit import train as _train

    if isinstance(config, RunConfig):
        config = load_config(None, {**config.to_dict(), **settings})
    else:
        config = load_config(config, settings)
    out = Path(out) if out is not None else Path("runs") / typecheck(spec_path).name
    return _train(spec_path, train, valid, test, out, config=config, force=force, resume=resume,
                  verbose=verbose, log=log)


def evaluate(run_dir: str | Path, data, *, missing: str | None = None) -> dict:
    """Metrics of a trained run on labelled data: {output: {"auc": ..., "logloss": ...}}."""
    from recdsl.training.scoring import evaluate as _evaluate

    metrics, _ = _evaluate(run_dir, data, missing=missing)
    return metrics


def predict(run_dir: str | Path, data, out: str | Path, *, id_columns=(), missing: str | None = None,
            force: bool = False) -> Path:
    """Score data with a trained run; writes Parquet (or .csv by suffix) and returns its path."""
    from recdsl.training.scoring import predict as _predict

    path, _ = _predict(run_dir, data, out, id_columns=id_columns, missing=missing, force=force)
    return path


def export(run_dir: str | Path, out_dir: str | Path | None = None, force: bool = False) -> Path:
    """Write a TensorFlow SavedModel of a run (or build) folder; default out_dir RUN/serving/1."""
    from recdsl.serving.savedmodel import export as _export

    out_dir = out_dir if out_dir is not None else Path(run_dir) / "serving" / "1"
    return _export(run_dir, out_dir, force=force)


def load_model(path: str | Path, compile: bool = False):
    """A saved recdsl model (`recdsl build`'s or a run's model.keras) as a keras.Model."""
    from recdsl.layers import load_model as _load_model

    return _load_model(path, compile=compile)
