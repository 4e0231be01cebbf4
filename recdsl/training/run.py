"""`recdsl train`, `evaluate`, `predict`: a spec and Parquet/CSV files -> a trained, reported run.

A run folder holds everything needed to use the model again, without the spec:

    model.keras          the trained model (best validation epoch)
    preprocessing.json   vocabularies, statistics and the data schema (recdsl.data.preprocess)
    spec.rec             the spec as trained;  NAME.svg its diagram
    run.json             settings, data files and timing
    metrics.json         per-output AUC/logloss on valid (and test); history.json per epoch
    report.md            the report, with curves.png and attention.png
    checkpoints/         the best model so far (ModelCheckpoint)
    backup/              BackupAndRestore state while training: an interrupted run resumes
    logs/                TensorBoard logs (TensorFlow backend)

Several GPUs: under the TensorFlow backend the model is built in a
tf.distribute.MirroredStrategy scope when more than one GPU is visible (one machine);
with TF_CONFIG set (several machines) in a MultiWorkerMirroredStrategy scope.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recdsl.data import source
from recdsl.data.errors import DataError, FixLog
from recdsl.data.pipeline import Split, bucketed_inputs
from recdsl.data.preprocess import Preprocessor
from recdsl.data.schema import schema_of
from recdsl.training.config import RunConfig
from recdsl.training.metrics import output_metrics

ATTENTION_ROWS = 20_000  # validation rows used for the attention diagnostics


class RunError(DataError):
    """A run folder problem (exists, incomplete)."""


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    history: dict
    timing: dict
    attention: dict = field(default_factory=dict)
    fixes: list = field(default_factory=list)


def check_run_dir(path, force: bool = False, resume: bool = False) -> None:
    """Raise RunError where prepare_run_dir would, without touching anything."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunError(f"{path} exists and is not a folder")
    if path.exists() and any(path.iterdir()) and not force and not (resume and (path / "backup").exists()):
        raise RunError(f"run folder {str(path)!r} is not empty",
                       hint="pass --force to replace it, --resume to continue an interrupted run, "
                            "or choose another -o folder")


def prepare_run_dir(path, force: bool = False, resume: bool = False) -> Path:
    check_run_dir(path, force=force, resume=resume)
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        if resume and (path / "backup").exists():
            return path
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _say(log, text: str) -> None:
    if log:
        log(text)


def train(spec_path, train_paths, valid_paths=None, test_paths=None, out="runs/run", *,
          config: RunConfig | None = None, force: bool = False, resume: bool = False,
          verbose: int = 1, log=print) -> RunResult:
    import recdsl

    config = (config or RunConfig()).validate()
    t_start = time.perf_counter()
    spec = recdsl.typecheck(spec_path)
    check_run_dir(out, force=force, resume=resume)
    schema = schema_of(spec, config.columns, config.separators)

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
    t_data = time.perf_counter()
    run_dir = prepare_run_dir(out, force=force, resume=resume)  # only now: bad data leaves nothing behind
    pre.save(run_dir / "preprocessing.json")

    keras = _keras_setup(config)
    model = _build(spec, schema.labels, config, keras)
    t_build = time.perf_counter()
    spec_text = Path(spec_path).read_text(encoding="utf-8-sig")
    (run_dir / "spec.rec").write_text(spec_text, encoding="utf-8")

    timing_cb = _Timing()
    callbacks = [timing_cb]
    valid = splits.get("valid")
    if valid is not None:
        callbacks.append(_Validate(valid, schema.labels, config.eval_batch_size))
    monitor, mode = _monitor(config, schema, valid is not None)
    if valid is not None and config.patience > 0:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=config.patience,
                                                       restore_best_weights=True, verbose=0))
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    callbacks += [
        keras.callbacks.ModelCheckpoint(str(run_dir / "checkpoints" / "best.keras"), monitor=monitor, mode=mode,
                                        save_best_only=True, verbose=0),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
    ]
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "logs"), write_graph=False,
                                                     profile_batch=0))
    train_split = splits["train"]
    cut = bucketed_inputs(schema, config.length_buckets)
    if streamed:  # tf.data pipelines shuffle themselves
        fit_args = dict(x=train_split.dataset(config.batch_size, config.shuffle_buffer, config.seed,
                                              length_buckets=config.length_buckets), shuffle=False)
    elif cut or keras.backend.backend() == "tensorflow":  # one iterator for every epoch
        fit_args = dict(x=train_split.training_dataset(config.batch_size, config.length_buckets, config.seed),
                        steps_per_epoch=train_split.batches_per_epoch(config.batch_size), shuffle=False)
    else:
        fit_args = dict(x=train_split.inputs, y=train_split.targets, batch_size=config.batch_size, shuffle=True)
    _say(log, f"training {spec.name}: {config.epochs} epoch(s), batch {config.batch_size}, "
              f"{config.optimizer} lr {config.learning_rate:g}, {config.precision}, "
              f"XLA {'on' if model.jit_compile else 'off'}"
              + (f", length buckets of {config.length_buckets} ({', '.join(cut)})" if cut else ""))
    history = _fit(model, lambda: _compile(model, schema.labels, config, keras, jit=False), fit_args, config,
                   callbacks, verbose, log)
    t_train = time.perf_counter()
    shutil.rmtree(run_dir / "backup", ignore_errors=True)  # finished: nothing to resume

    metrics = {}
    for name in ("valid", "test"):
        if name in splits:
            scores, labels = predict_split(model, splits[name], config.eval_batch_size)
            metrics[name] = {lab.output: output_metrics(lab.loss, labels[lab.output], scores[lab.output])
                             for lab in schema.labels}
    model.save(run_dir / "model.keras")

    from recdsl.training.diagnostics import attention_report

    attention = attention_report(model, spec, valid.inputs if valid is not None and valid.inputs else
                                 train_split.inputs or {}, ATTENTION_ROWS)
    rows = train_split.rows or train_split.row_estimate()
    epoch_times = timing_cb.epoch_times
    steady = epoch_times[1:] or epoch_times
    timing = {
        "epochs": len(epoch_times),
        "best_epoch": _best_epoch(history, monitor, mode),
        "train_seconds": round(t_train - t_data - (t_build - t_data), 3),
        "samples_per_sec": round(rows / statistics.median(steady), 1) if steady else None,
        "epoch_seconds": [round(t, 3) for t in epoch_times],
        "data_seconds": round(t_data - t_start, 3),
        "build_seconds": round(t_build - t_data, 3),
    }
    fixes = []
    for split in splits.values():
        fixes += split.fixes.rows()
    data = {name: {"files": [str(p) for p in s.paths], "rows": s.rows, "label_rate": s.label_rate}
            for name, s in splits.items()}
    data["fixes"] = fixes
    _write_json(run_dir / "metrics.json", metrics)
    _write_json(run_dir / "history.json", history)
    _write_json(run_dir / "run.json", {"spec": str(spec_path), "model": spec.name, "config": config.to_dict(),
                                       "data": data, "timing": timing, "backend": keras.backend.backend(),
                                       "vocabulary_sizes": pre.vocabulary_sizes()})
    diagram = _diagram(spec, run_dir)
    from recdsl.training.report import write_report

    write_report(run_dir, spec_name=spec.name, spec_path=str(spec_path), spec_source=spec_text, data=data,
                 metrics=metrics, history=history, attention=attention, timing=timing,
                 config=_settings(config), diagram=diagram)
    return RunResult(run_dir, metrics, history, timing, attention, fixes)


def _settings(config: RunConfig) -> dict:
    keys = ("optimizer", "learning_rate", "batch_size", "epochs", "patience", "monitor", "seed", "jit_compile",
            "precision", "missing", "length_buckets")
    return {k: getattr(config, k) for k in keys}


def _keras_setup(config: RunConfig):
    import keras

    keras.utils.set_random_seed(config.seed)
    keras.config.set_dtype_policy(config.precision)
    return keras


def _strategy(keras):
    """TensorFlow backend: MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster,
    MirroredStrategy when one machine has several GPUs, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return None


def _build(spec, labels, config: RunConfig, keras):
    import contextlib

    from recdsl.emitter import emit

    strategy = _strategy(keras)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = emit(spec)
        _compile(model, labels, config, keras, use_xla(config.jit_compile, keras, spec))
    return model


#: On CPU, XLA is used only when every embedding table is at most this many parameters: XLA
#: turns the sparse gradient of a lookup into a dense update of the whole table, which costs
#: more than the fusion saves once tables are large (bench/throughput.py, docs/performance.md).
XLA_CPU_TABLE_LIMIT = 500_000


def use_xla(setting: str, keras, spec=None) -> bool:
    """jit_compile: on/off as given; auto = on under JAX or with a GPU; on CPU under TensorFlow
    on when the spec's embedding tables are small (XLA_CPU_TABLE_LIMIT); off under torch."""
    if setting in ("on", "off"):
        return setting == "on"
    backend = keras.backend.backend()
    if backend == "jax":
        return True
    if backend != "tensorflow":
        return False
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return True
    tables = [n.params for n in (spec.nodes if spec is not None else ()) if n.kind == "feature"]
    return spec is not None and max(tables, default=0) <= XLA_CPU_TABLE_LIMIT


def _compile(model, labels, config: RunConfig, keras, jit: bool) -> None:
    optimizer = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
                 "adagrad": keras.optimizers.Adagrad, "rmsprop": keras.optimizers.RMSprop,
                 "sgd": keras.optimizers.SGD}[config.optimizer](learning_rate=config.learning_rate)
    losses, weights, metrics = {}, {}, {}
    for lab in labels:
        if lab.loss == "binary":
            losses[lab.output] = keras.losses.BinaryCrossentropy()
            metrics[lab.output] = [keras.metrics.AUC(name="auc"),
                                   keras.metrics.BinaryCrossentropy(name="logloss")]
        else:
            losses[lab.output] = keras.losses.MeanSquaredError()
            metrics[lab.output] = [keras.metrics.RootMeanSquaredError(name="rmse")]
        weights[lab.output] = lab.weight
    model.compile(optimizer=optimizer, loss=losses, loss_weights=weights, metrics=metrics,
                  jit_compile=jit, steps_per_execution=config.steps_per_execution)


def _fit(model, compile_without_xla, fit_args, config, callbacks, verbose, log) -> dict:
    import warnings

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


def _monitor(config: RunConfig, schema, has_valid: bool):
    if not has_valid:
        return "loss", "min"
    first = schema.labels[0]
    if config.monitor == "loss" or first.loss != "binary":
        return "val_loss", "min"
    return f"val_{first.output}_{config.monitor}", "max" if config.monitor == "auc" else "min"


def _best_epoch(history: dict, monitor: str, mode: str):
    values = history.get(monitor)
    if not values:
        return len(history.get("loss", [])) or None
    pick = np.nanargmax if mode == "max" else np.nanargmin
    return int(pick(np.asarray(values, dtype="float64"))) + 1


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


def _diagram(spec, run_dir: Path):
    import recdsl
    from recdsl.diagram import GraphvizMissing

    try:
        return recdsl.draw(spec, run_dir / f"{spec.name}.svg")
    except GraphvizMissing:
        return None


# --- callbacks ----------------------------------------------------------------------------

def _callback_base():
    import keras

    return keras.callbacks.Callback


class _Timing(_callback_base()):
    """Wall time of each epoch's training steps (validation excluded: it runs after)."""

    def __init__(self):
        super().__init__()
        self.epoch_times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_times.append(time.perf_counter() - self._t)


class _Validate(_callback_base()):
    """Exact validation metrics each epoch (numpy AUC, not the thresholded streaming estimate),
    written into the epoch logs as val_loss, val_OUTPUT_auc, val_OUTPUT_logloss."""

    def __init__(self, split: Split, labels, batch_size: int):
        super().__init__()
        self.split, self.labels, self.batch_size = split, labels, batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        scores, truth = predict_split(self.model, self.split, self.batch_size)
        total = 0.0
        for lab in self.labels:
            found = output_metrics(lab.loss, truth[lab.output], scores[lab.output])
            for key, value in found.items():
                logs[f"val_{lab.output}_{key}"] = value
            total += lab.weight * (found["logloss"] if lab.loss == "binary" else found["rmse"] ** 2)
        logs["val_loss"] = total


def predict_split(model, split: Split, batch_size: int):
    """Scores and labels of a split, by output ([n] arrays)."""
    if split.inputs is not None:
        raw = model.predict(split.inputs, batch_size=batch_size, verbose=0)
        labels = split.targets
    else:
        labels_parts: dict[str, list] = {}

        def inputs_only(ds):
            for x, y in ds:
                for k, v in y.items():
                    labels_parts.setdefault(k, []).append(np.asarray(v))
                yield x

        raw = {}
        for x in inputs_only(split.dataset(batch_size, shuffle_buffer=0)):
            for k, v in model.predict_on_batch(x).items():
                raw.setdefault(k, []).append(np.asarray(v))
        raw = {k: np.concatenate(v) for k, v in raw.items()}
        labels = {k: np.concatenate(v) for k, v in labels_parts.items()}
    scores = {k: np.asarray(v, dtype="float64").reshape(-1) for k, v in raw.items()}
    truth = {k: np.asarray(v, dtype="float64").reshape(-1) for k, v in (labels or {}).items()}
    return scores, truth


# --- using a finished run -----------------------------------------------------------------

@dataclass
class LoadedRun:
    run_dir: Path
    model: object
    pre: Preprocessor
    info: dict


def load_run(run_dir) -> LoadedRun:
    run_dir = Path(run_dir)
    for name in ("model.keras", "preprocessing.json"):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} is not a finished run: {name} is missing",
                           hint="pass the -o folder of a `recdsl train` that completed")
    import recdsl

    model = recdsl.load_model(run_dir / "model.keras")
    pre = Preprocessor.load(run_dir / "preprocessing.json")
    info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
    return LoadedRun(run_dir, model, pre, info)


def evaluate(run_dir, data_paths, *, missing: str | None = None, batch_size: int = 8192):
    run = load_run(run_dir)
    missing = missing or run.info.get("config", {}).get("missing", "error")
    split = Split("eval", data_paths, run.pre, missing=missing).load()
    if split.rows == 0:
        raise DataError(f"no rows to evaluate in {', '.join(str(p) for p in split.paths)}")
    scores, labels = predict_split(run.model, split, batch_size)
    metrics = {lab.output: output_metrics(lab.loss, labels[lab.output], scores[lab.output])
               for lab in run.pre.schema.labels}
    return metrics, split


def predict(run_dir, data_paths, out_path, *, id_columns=(), missing: str | None = None,
            batch_size: int = 8192, force: bool = False):
    """Write scores (one column per output) next to the input's id columns, as Parquet or CSV."""
    import pyarrow as pa

    out_path = Path(out_path)
    if out_path.exists() and not force:
        raise RunError(f"{out_path} exists", hint="pass --force to replace it")
    run = load_run(run_dir)
    missing = missing or run.info.get("config", {}).get("missing", "error")
    ids = list(id_columns) or list(run.info.get("config", {}).get("id_columns", []))
    split = Split("predict", data_paths, run.pre, missing=missing, labels=False, extra_columns=tuple(ids)).load()
    raw = run.model.predict(split.inputs, batch_size=batch_size, verbose=0) if split.rows else {}
    columns = {name: pa.array(split.extras[name]) if split.rows else pa.array([], pa.string()) for name in ids}
    for lab in run.pre.schema.labels:
        values = np.asarray(raw[lab.output], dtype="float32").reshape(-1) if split.rows else np.zeros(0, "float32")
        columns[f"{lab.output}_score" if lab.output in columns else lab.output] = pa.array(values)
    table = pa.table(columns)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if out_path.suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, out_path)
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, out_path)
    return out_path, split


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
