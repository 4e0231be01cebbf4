"""`recdsl train`: a spec and Parquet/CSV files -> a trained, reported run folder
(recdsl.training.runs describes what it holds).

The steps, in order: check the spec and the run folder, fit the preprocessing and load the
splits (bad data leaves nothing behind), build and compile the model, fit it with the run's
callbacks, score valid/test, measure the attention pools, and write the model, the JSON files
and the report. Progress goes to `log` (a callable taking one line; None: silent).
"""
from __future__ import annotations

import shutil
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from recdsl.checker import check_file
from recdsl.data import source
from recdsl.data.errors import FixLog
from recdsl.data.pipeline import Split, bucketed_inputs
from recdsl.data.preprocess import Preprocessor
from recdsl.data.schema import schema_of
from recdsl.training.callbacks import epoch_timing, monitor_of, run_callbacks
from recdsl.training.compilation import build_model, compile_model, keras_setup
from recdsl.training.config import RunConfig
from recdsl.training.diagnostics import attention_report
from recdsl.training.history import best_epoch
from recdsl.training.runs import check_run_dir, prepare_run_dir, write_json
from recdsl.training.scoring import split_metrics

#: the run settings the report shows, in its order
REPORTED_SETTINGS = ("optimizer", "learning_rate", "batch_size", "epochs", "patience", "monitor", "seed",
                     "jit_compile", "precision", "missing", "length_buckets")


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    history: dict
    timing: dict
    attention: dict = field(default_factory=dict)
    fixes: list = field(default_factory=list)


def _say(log, text: str) -> None:
    if log:
        log(text)


def train(spec_path, train_paths, valid_paths=None, test_paths=None, out="runs/run", *,
          config: RunConfig | None = None, force: bool = False, resume: bool = False,
          verbose: int = 1, log=None) -> RunResult:
    """Train the spec at `spec_path` and write the run folder `out`; returns what it holds.

    force replaces a non-empty folder; resume continues an interrupted run in it. verbose is
    Keras' fit verbosity; log receives progress lines (None: silent)."""
    config = (config or RunConfig()).validate()
    clock = {"start": time.perf_counter()}
    spec = check_file(spec_path)
    check_run_dir(out, force=force, resume=resume)
    schema = schema_of(spec, config.columns, config.separators)
    pre, splits, streamed = _load_data(schema, train_paths, valid_paths, test_paths, config, log)
    clock["data"] = time.perf_counter()
    run_dir = prepare_run_dir(out, force=force, resume=resume)  # only now: bad data leaves nothing behind
    pre.save(run_dir / "preprocessing.json")

    keras = keras_setup(config)
    model = build_model(spec, schema.labels, config, keras)
    clock["build"] = time.perf_counter()
    spec_text = Path(spec_path).read_text(encoding="utf-8-sig")
    (run_dir / "spec.rec").write_text(spec_text, encoding="utf-8")

    valid, train_split = splits.get("valid"), splits["train"]
    monitor, mode = monitor_of(config, schema.labels, valid is not None)
    timing_cb = epoch_timing()
    callbacks = [timing_cb] + run_callbacks(keras, run_dir, valid, schema.labels, config,
                                            monitor=monitor, mode=mode, resume=resume)
    fit_args = _fit_args(schema, train_split, streamed, config, keras, model, spec.name, log)
    history = _fit(model, lambda: compile_model(model, schema.labels, config, keras, jit=False), fit_args, config,
                   callbacks, verbose, log)
    clock["train"] = time.perf_counter()
    shutil.rmtree(run_dir / "backup", ignore_errors=True)  # finished: nothing to resume

    metrics = {name: split_metrics(model, splits[name], schema.labels, config.eval_batch_size)
               for name in ("valid", "test") if name in splits}
    model.save(run_dir / "model.keras")
    attention = attention_report(model, spec, valid.inputs if valid is not None and valid.inputs else
                                 train_split.inputs or {})
    timing = _timing(clock, timing_cb.epoch_times, train_split, best_epoch(history, monitor, mode))
    data = _data_summary(splits)
    write_json(run_dir / "metrics.json", metrics)
    write_json(run_dir / "history.json", history)
    write_json(run_dir / "run.json", {"spec": str(spec_path), "model": spec.name, "config": config.to_dict(),
                                      "data": data, "timing": timing, "backend": keras.backend.backend(),
                                      "vocabulary_sizes": pre.vocabulary_sizes()})
    from recdsl.training.report import write_report

    write_report(run_dir, spec_name=spec.name, spec_path=str(spec_path), spec_source=spec_text, data=data,
                 metrics=metrics, history=history, attention=attention, timing=timing,
                 config={k: getattr(config, k) for k in REPORTED_SETTINGS}, diagram=_diagram(spec, run_dir))
    return RunResult(run_dir, metrics, history, timing, attention, data["fixes"])


def _load_data(schema, train_paths, valid_paths, test_paths, config: RunConfig, log):
    """(preprocessing fitted on the training files, {split name: Split}, whether train is streamed).
    Every split is loaded into memory except a training set larger than config.cache_mb."""
    _say(log, f"fitting preprocessing on {', '.join(str(p) for p in source.resolve(train_paths))}")
    pre = Preprocessor.fit(source.read(train_paths, schema, FixLog("train"), missing=config.missing), schema)
    splits = {"train": Split("train", train_paths, pre, missing=config.missing)}
    if valid_paths:
        splits["valid"] = Split("valid", valid_paths, pre, missing=config.missing)
    if test_paths:
        splits["test"] = Split("test", test_paths, pre, missing=config.missing)
    streamed = splits["train"].estimated_mb() > config.cache_mb
    for name, split in splits.items():
        if name != "train" or not streamed:
            split.load()
            _say(log, f"{name}: {split.rows:,} rows")
    if streamed:
        _say(log, f"train: ~{splits['train'].row_estimate():,} rows, streamed "
                  f"(over cache_mb={config.cache_mb})")
    return pre, splits, streamed


def _fit_args(schema, train_split: Split, streamed: bool, config: RunConfig, keras, model, spec_name: str,
              log) -> dict:
    """model.fit's data arguments for the training split; says what is about to be trained."""
    cut = bucketed_inputs(schema, config.length_buckets)
    if streamed:  # tf.data pipelines shuffle themselves
        fit_args = dict(x=train_split.dataset(config.batch_size, config.shuffle_buffer, config.seed,
                                              length_buckets=config.length_buckets), shuffle=False)
    elif cut or keras.backend.backend() == "tensorflow":  # one iterator for every epoch
        fit_args = dict(x=train_split.training_dataset(config.batch_size, config.length_buckets, config.seed),
                        steps_per_epoch=train_split.batches_per_epoch(config.batch_size), shuffle=False)
    else:
        fit_args = dict(x=train_split.inputs, y=train_split.targets, batch_size=config.batch_size, shuffle=True)
    _say(log, f"training {spec_name}: {config.epochs} epoch(s), batch {config.batch_size}, "
              f"{config.optimizer} lr {config.learning_rate:g}, {config.precision}, "
              f"XLA {'on' if model.jit_compile else 'off'}"
              + (f", length buckets of {config.length_buckets} ({', '.join(cut)})" if cut else ""))
    return fit_args


def _fit(model, compile_without_xla, fit_args, config: RunConfig, callbacks, verbose, log) -> dict:
    """model.fit; when XLA cannot compile the model, say so, recompile without it and fit again.
    Returns the history as {key: [float per epoch]}."""
    def fit():
        with warnings.catch_warnings():
            # a streamed epoch ends when its data does, which Keras reports as a problem
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            return model.fit(**fit_args, epochs=config.epochs, callbacks=callbacks, verbose=verbose)

    try:
        hist = fit()
    except Exception as exc:  # an op XLA cannot compile: say so and train without it
        if not model.jit_compile or not _is_xla_error(exc):
            raise
        _say(log, f"XLA could not compile this model ({str(exc).splitlines()[0][:200]}); "
                  "training without jit_compile")
        compile_without_xla()
        hist = fit()
    return {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def _is_xla_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return any(s in text for s in ("XLA", "xla", "jit_compile", "JIT compilation", "Unsupported op"))


def _timing(clock: dict, epoch_times: list, train_split: Split, best) -> dict:
    """run.json's timing: epochs, best epoch, seconds per phase, training samples/s (the median of
    the epochs after the first, which also compiles)."""
    rows = train_split.rows or train_split.row_estimate()
    steady = epoch_times[1:] or epoch_times
    return {
        "epochs": len(epoch_times),
        "best_epoch": best,
        "train_seconds": round(clock["train"] - clock["build"], 3),
        "samples_per_sec": round(rows / statistics.median(steady), 1) if steady else None,
        "epoch_seconds": [round(t, 3) for t in epoch_times],
        "data_seconds": round(clock["data"] - clock["start"], 3),
        "build_seconds": round(clock["build"] - clock["data"], 3),
    }


def _data_summary(splits: dict) -> dict:
    """{split: {"files", "rows", "label_rate"}, "fixes": [every split's fixed or dropped rows]}."""
    data = {name: {"files": [str(p) for p in s.paths], "rows": s.rows, "label_rate": s.label_rate}
            for name, s in splits.items()}
    data["fixes"] = [fix for split in splits.values() for fix in split.fixes.rows()]
    return data


def _diagram(spec, run_dir: Path):
    """run_dir/NAME.svg, the architecture diagram; None without Graphviz."""
    from recdsl.diagram import GraphvizMissing, render
    from recdsl.graph import build_graph

    try:
        return render(build_graph(spec), run_dir / f"{spec.name}.svg")
    except GraphvizMissing:
        return None
