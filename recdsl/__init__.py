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
    recdsl.load_run("runs/din").predict(rows)      # scores of raw rows (a list of dicts)

A spec may be given as a path, as .rec or YAML text (`recdsl.check(TEXT)`; errors then point into
"<string>" with the line and a caret) or as a dict of the YAML form. After `import recdsl`,
`keras.saving.load_model("model.keras")` loads recdsl models (the layers register themselves
when Keras is imported).

Every function imports what it needs when called: `import recdsl` is instant, and `check`,
`dependency_graph` and `draw` never import TensorFlow or Keras. Errors a user can cause are
`recdsl.errors.RecdslError`s, with the exit code the `recdsl` command would give. The modules
are named apart from the verbs (checker, graph, diagram, emitter, buildfolder, training,
serving), so importing one never hides a function here.
"""
from __future__ import annotations

import sys
from pathlib import Path

__version__ = "0.1.0"
__all__ = ["load", "check", "typecheck", "dependency_graph", "draw", "diff", "emit", "build", "train", "evaluate",
           "predict", "export", "load_run", "load_model"]


def load(spec):
    """Read a spec into its AST: a .rec or .yaml path, .rec or YAML text (any string with a line
    break), or a dict of the YAML form ({"model": ..., "spec": {...}})."""
    return _parsed(spec)[0]


def _parsed(spec):
    """(ast.Spec, {file: text}) of a spec path, text or dict. Text is read as the file "<string>"
    and a dict as "<dict>" (its YAML form), so errors show the line and a caret."""
    if isinstance(spec, dict):
        import yaml

        return _parsed_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), "<dict>", yaml_form=True)
    if isinstance(spec, str) and "\n" in spec:
        return _parsed_text(spec, "<string>", yaml_form=_is_yaml_form(spec))
    from recdsl.lang.loader import load_spec, read_sources

    return load_spec(spec), read_sources(spec)


def _is_yaml_form(text: str) -> bool:
    """Whether spec text is the YAML form: its first line that is not blank or a comment starts
    with `model:` (or a YAML document marker); .rec text starts with `model NAME`."""
    import re

    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return bool(re.match(r"\s*(model\s*:|---|\{)", line))
    return False


def _parsed_text(text: str, file: str, yaml_form: bool):
    if yaml_form:
        from recdsl.lang.yaml_load import load_yaml

        return load_yaml(text, file), {file: text}
    from recdsl.lang.parser import parse

    return parse(text, file), {file: text}


def typecheck(spec):
    """Parse (if given a path, text or dict: see `load`) and type-check a spec; raises SpecErrors
    listing every problem."""
    from recdsl.checker import check as _check
    from recdsl.lang.ast import Spec

    if isinstance(spec, Spec):
        return _check(spec)
    return _check(*_parsed(spec))


def check(spec):
    """A spec path, .rec/YAML text, dict (YAML form) or AST -> CheckedSpec (nodes, types,
    parameter counts, warnings); raises SpecErrors listing every problem, each with its source
    line and a caret (text is the file "<string>"). The same as `typecheck`, its older name."""
    return typecheck(spec)


def _checked(spec):
    from recdsl.checker.spec import CheckedSpec

    return spec if isinstance(spec, CheckedSpec) else typecheck(spec)


def dependency_graph(path_or_spec):
    """The dependency graph (networkx.DiGraph) of a spec path or CheckedSpec."""
    from recdsl.graph import build_graph

    return build_graph(_checked(path_or_spec))


def draw(path_or_spec, out: str | Path) -> Path:
    """Write the architecture diagram (.svg, .png, .pdf or .dot). Without graphviz's `dot`
    program it writes the .dot file and raises recdsl.diagram.GraphvizMissing naming it."""
    from recdsl.diagram import render as _render

    return _render(dependency_graph(path_or_spec), out)


def diff(old, new):
    """The semantic difference of two specs (paths, text, dicts or CheckedSpecs), as `recdsl diff`:
    a recdsl.review.diff.SpecDiff (nodes added, removed, renamed, changed; the parameter delta)."""
    from recdsl.review.diff import diff_specs

    return diff_specs(_checked(old), _checked(new))


def emit(path_or_spec):
    """The keras.Model of a spec path or CheckedSpec (imports Keras)."""
    from recdsl.emitter import emit as _emit

    return _emit(_checked(path_or_spec))


def build(path_or_spec, out_dir: str | Path, force: bool = False):
    """What `recdsl build` writes: model.keras, graph.json, summary.txt and the diagram in out_dir.
    Returns a recdsl.buildfolder.BuildResult; raises OutputExists for a non-empty out_dir without force."""
    from recdsl.buildfolder import build as _build

    return _build(_checked(path_or_spec), out_dir, force=force)


def train(spec, train, valid=None, test=None, out: str | Path | None = None, config=None, *,
          force: bool = False, resume: bool = False, verbose: int = 0, log=None, **settings):
    """Train a spec (a path, .rec/YAML text or a dict: see `load`) on Parquet/CSV files (paths,
    folders or globs) and write a run folder (default runs/MODEL_NAME), as `recdsl train` does.
    `config` is a YAML run config path or a RunConfig; `settings` override it (epochs=3,
    batch_size=256, learning_rate=0.01, ...). Quiet unless given verbose=1 (Keras progress) and
    log=print. Returns a RunResult."""
    from recdsl.training.config import RunConfig, load_config
    from recdsl.training.fit import train as _train

    if isinstance(config, RunConfig):
        config = load_config(None, {**config.to_dict(), **settings})
    else:
        config = load_config(config, settings)
    source = None
    if isinstance(spec, dict) or (isinstance(spec, str) and "\n" in spec):
        source = _spec_source(spec)
    checked = source[0] if source else typecheck(spec)
    out = Path(out) if out is not None else Path("runs") / checked.name
    return _train(source[2] if source else spec, train, valid, test, out, config=config, force=force,
                  resume=resume, verbose=verbose, log=log, spec_source=source[:2] if source else None)


def _spec_source(spec) -> tuple:
    """(CheckedSpec, its .rec text for the run folder's spec.rec, its name "<string>"/"<dict>")
    of spec text or a dict: .rec text as given, the YAML form in the canonical .rec layout."""
    from recdsl.checker import check as _check
    from recdsl.lang.formatter import format_spec

    tree, sources = _parsed(spec)
    (file, text), = sources.items()
    rec_text = text if file == "<string>" and not _is_yaml_form(text) else format_spec(tree)
    return _check(tree, sources), rec_text, file


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


def load_run(run_dir: str | Path):
    """A finished run folder, ready to score rows in Python (a notebook, a serving script):

        run = recdsl.load_run("runs/din")
        run.predict([{"user_id": 7, "item_id": 42, "hist": [3, 9, 42]}])   # {"ctr": array([0.61])}
        run.inputs(rows)          # the preprocessed model inputs, for run.model or an exported graph

    Returns a recdsl.training.trained.TrainedRun (model, pre, info, inputs(rows), predict(rows))."""
    from recdsl.training.trained import open_run

    return open_run(run_dir)


def load_model(path: str | Path, compile: bool = False):
    """A saved recdsl model (`recdsl build`'s or a run's model.keras) as a keras.Model."""
    from recdsl.layers import load_model as _load_model

    return _load_model(path, compile=compile)


# --- Keras learns recdsl's layers when it is imported -------------------------------------------
# A saved model names its layers by registered name ("recdsl>DinAttention"); Keras finds them only
# once their modules are imported, and imports nothing outside its own packages by a config's
# `module` field. So `import recdsl; keras.saving.load_model("model.keras")` needs the layers
# registered, without `import recdsl` importing Keras (check and render must stay instant): when
# Keras is loaded already they are registered now; otherwise a one-shot import hook registers them
# right after Keras' own import.

def _register_layers() -> None:
    from recdsl.layers import register_all

    register_all()


class _LoadedKeras:
    """A loader that runs Keras' own, then registers recdsl's layers."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _register_layers()

    def __getattr__(self, name):  # resource readers and the rest: Keras' own loader
        return getattr(self._loader, name)


class _KerasImportHook:
    """A sys.meta_path finder that steps in once, for the top-level `keras` package."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "keras":
            return None
        import importlib.util

        sys.meta_path[:] = [f for f in sys.meta_path if f is not cls]
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _LoadedKeras(spec.loader)
        return spec


def _register_with_keras() -> None:
    keras = sys.modules.get("keras")
    if keras is not None and getattr(getattr(keras, "__spec__", None), "_initializing", False) is False:
        _register_layers()
    elif _KerasImportHook not in sys.meta_path:
        sys.meta_path.insert(0, _KerasImportHook)


_register_with_keras()
