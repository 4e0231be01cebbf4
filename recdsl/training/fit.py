"""`recdsl train`: a spec and Parquet/CSV files -> a trained, reported run folder
(recdsl.training.runs describes what it holds).

The steps, in order: check the spec and the run folder, lock the folder (recdsl.training.lock),
fit the preprocessing and load the splits (bad data leaves nothing behind), build and compile the
model, fit it with the run's callbacks (continuing an interrupted run's backup with resume:
recdsl.training.progress), score valid/test, measure the attention pools, and write the model, the
JSON files and the report. run.json's status says where the run stands: running, then finished,
failed (the loss diverged, or a file could not be written; report.md and run.json say why) or
interrupted. Progress goes to `log` (a callable taking one line; None: silent).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from recdsl.checker import check_file
from recdsl.data import source
from recdsl.data.errors import FixLog
from recdsl.data.pipeline import Split
from recdsl.data.preprocess import Preprocessor
from recdsl.data.schema import schema_of
from recdsl.training.atomic import atomic_path, write_json, write_text
from recdsl.training.backup import interrupt_on_sigterm
from recdsl.training.callbacks import epoch_timing, monitor_of, run_callbacks
from recdsl.training.compilation import build_model, check_precision, compile_model, keras_setup
from recdsl.training.config import RunConfig
from recdsl.training.diagnostics import attention_report
from recdsl.training.distribution import Processes, folder_of, start
from recdsl.training.fitloop import fit, fit_args, say
from recdsl.training.history import best_epoch
from recdsl.training.lock import RunLock
from recdsl.training.progress import BACKUP, Progress, link_or_copy, restore, save_model_file, write_history
from recdsl.training.row_frequency import set_row_frequencies
from recdsl.training.runs import RunError, RunInterrupted, TrainingDiverged, check_run_dir, prepare_run_dir, read_info
from recdsl.training.scaled import ScaledRun
from recdsl.training.scoring import split_metrics
from recdsl.training.throughput import throughput

#: the run settings a resumed run may change (how often it backs up)
RESUME_MAY_CHANGE = ("backup_every_steps", "backup_every_seconds")
#: the run settings the report shows, in its order
REPORTED_SETTINGS = ("optimizer", "learning_rate", "batch_size", "epochs", "patience", "monitor", "seed",
                     "jit_compile", "precision", "missing", "length_buckets")


class RunWriteError(RunError):
    """A run file could not be written (a full disk, a read-only folder)."""


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    history: dict
    timing: dict
    attention: dict = field(default_factory=dict)
    fixes: list = field(default_factory=list)




def train(spec_path, train_paths, valid_paths=None, test_paths=None, out="runs/run", *,
          config: RunConfig | None = None, force: bool = False, resume: bool = False,
          verbose: int = 1, log=None, progress_every: float = 0.0, processes: Processes | None = None,
          spec_source: tuple | None = None) -> RunResult:
    """Train the spec at `spec_path` and write the run folder `out`; returns what it holds.

    force replaces a non-empty folder; resume continues an interrupted run in it. verbose is
    Keras' fit verbosity; log receives progress lines (None: silent), with progress_every > 0 also
    one every progress_every seconds of training (rows, samples/s, loss, ETA). Raises
    TrainingDiverged when the loss stops being finite, RunFolderBusy when another run owns `out`.
    processes: this process of a multi-process run (recdsl.training.distribution). spec_source:
    (the CheckedSpec, its .rec text) of a spec given as text, which `spec_path` then only names."""
    config = (config or RunConfig()).validate()
    processes = processes or Processes()
    start(processes, config.distribution)  # refuses what the backend cannot do; before anything computes with JAX
    check_precision(config.precision)
    out, scaled = folder_of(out, processes, resume), ScaledRun(processes, config)
    clock = {"start": time.perf_counter()}
    if spec_source is not None:
        spec, spec_text = spec_source
    else:
        spec, spec_text = check_file(spec_path), Path(spec_path).read_text(encoding="utf-8-sig")
    check_run_dir(out, force=force, resume=resume)
    with interrupt_on_sigterm(), RunLock(out, log):
        schema = schema_of(spec, config.columns, config.separators)
        pre, splits, streamed = _load_data(schema, train_paths, valid_paths, test_paths, config, log,
                                           shard=(processes.index % scaled.shards, scaled.shards))
        scaled.equalize(splits["train"], streamed)
        clock["data"] = time.perf_counter()
        run_dir = prepare_run_dir(out, force=force, resume=resume)  # only now: bad data leaves nothing behind
        progress = _resumed(run_dir, config, spec_text, streamed, log) if resume else None
        info = {"spec": str(spec_path), "model": spec.name, "config": config.to_dict(),
                "data": _data_summary(splits), "vocabulary_sizes": pre.vocabulary_sizes()}
        run = _Run(run_dir, spec, spec_text, schema, pre, splits, config, info, progress or Progress(), clock)
        run.scaled = scaled
        try:
            return run.train(streamed, verbose, log, progress_every)
        except TrainingDiverged as stop:
            run.fail(stop)
            raise
        except (KeyboardInterrupt, RunInterrupted):
            run.record("interrupted", history=True)
            raise
        except OSError as problem:
            run.record("failed", error=str(problem), history=True)
            where = f": {problem.filename}" if problem.filename else ""
            raise RunWriteError(f"could not write the run folder: {problem.strerror or problem}{where}",
                                hint="make room (or choose another -o folder), then continue with --resume; "
                                     "run.json says `failed`") from problem
        except Exception as problem:
            run.record("failed", error=f"{type(problem).__name__}: {problem}")
            raise


def _resumed(run_dir: Path, config: RunConfig, spec_text: str, streamed: bool, log) -> Progress | None:
    """The progress of the interrupted run in run_dir (None: it completed no epoch, so it starts
    over); refused when the spec or a setting differs from the interrupted run's."""
    progress = Progress.load(run_dir)
    if progress is None:  # prepare_run_dir emptied the folder: the run starts over
        say(log, f"nothing to resume in {run_dir} (no backup was made yet): training from the start")
        return None
    before = read_info(run_dir).get("config", {})
    changed = [f"{k}: {before.get(k)!r} -> {v!r}" for k, v in config.to_dict().items()
               if before.get(k) != v and k not in RESUME_MAY_CHANGE]
    old_spec = run_dir / "spec.rec"
    if old_spec.is_file() and old_spec.read_text(encoding="utf-8") != spec_text:
        changed.insert(0, "the spec")
    if changed:
        raise RunError(f"cannot resume {str(run_dir)!r} with other settings than it was started with "
                       f"({'; '.join(changed)})",
                       hint="resume with the same spec, config and flags, or pass --force to start over")
    say(log, f"resuming {run_dir} after epoch {progress.epochs}"
              + (f" and {progress.step} step(s) of epoch {progress.epochs + 1}" if progress.step else ""))
    progress.resumed.append(progress.epochs)
    progress.resumed_steps.append(progress.step)
    return progress


class _Run:
    """One run in its locked folder: training, then the files of a finished or failed run."""

    def __init__(self, run_dir, spec, spec_text, schema, pre, splits, config, info, progress, clock):
        self.run_dir, self.spec, self.spec_text, self.schema, self.pre = run_dir, spec, spec_text, schema, pre
        self.splits, self.config, self.info, self.progress, self.clock = splits, config, info, progress, clock
        self.monitor, self.mode = monitor_of(config, schema.labels, "valid" in splits)

    def record(self, status: str, history: bool = False, **extra) -> None:
        """run.json with `status`, and with history the history files again (after a failed write,
        they may disagree); a failure to write them is not the error worth reporting."""
        info = {**self.info, "status": status, **extra}
        if self.progress.resumed:
            info["resumed_after_epochs"] = self.progress.resumed
            if any(self.progress.resumed_steps):
                info["resumed_after_steps"] = self.progress.resumed_steps
        try:
            if history and self.progress.epochs:
                write_history(self.run_dir, self.progress.history)
            write_json(self.run_dir / "run.json", info)
        except OSError:
            if status == "running":
                raise

    def train(self, streamed: bool, verbose: int, log, progress_every: float = 0.0) -> RunResult:
        run_dir, config, progress = self.run_dir, self.config, self.progress
        self.record("running")
        with atomic_path(run_dir / "preprocessing.json") as tmp:
            self.pre.save(tmp)
        write_text(run_dir / "spec.rec", self.spec_text)
        keras = keras_setup(config)
        model = build_model(self.spec, self.schema.labels, config, keras, self.scaled.processes)
        set_row_frequencies(model, self.spec, self.pre)  # DIN's n_j for the mini-batch-aware L2
        self.clock["build"] = time.perf_counter()
        valid, train_split = self.splits.get("valid"), self.splits["train"]
        self.timing_cb = timing_cb = epoch_timing()
        callbacks = [timing_cb] + self.scaled.callbacks(model, lambda: self._undistributed(keras), run_callbacks(
                                                keras, run_dir, valid, self.schema.labels,
                                                self.scaled.local_config(config),
                                                log=log, progress_every=progress_every, rows_approximate=streamed,
                                                train_rows=train_split.rows or train_split.row_estimate(),
                                                monitor=self.monitor, mode=self.mode, progress=progress,
                                                timing=timing_cb))
        if progress.weights:  # a multi-process run restores its twin, then pushes it (scaled.ScaledRun.restore)
            self.scaled.restore(model, lambda target: restore(target, run_dir, progress,
                                                              final=progress.done(config.epochs)))
        if not progress.done(config.epochs):
            data = self.scaled.legs(fit_args(self.schema, train_split, streamed, self.scaled.local_config(config),
                                             keras, model, self.spec.name, log,
                                             initial_epoch=progress.epochs, initial_step=progress.step))
            fit(model, lambda: compile_model(model, self.schema.labels, config, keras, jit=False), data,
                config, callbacks, verbose, log)
        self.clock["train"] = time.perf_counter()
        return self.finish(self.scaled.final(model), keras)

    def _undistributed(self, keras):
        """The spec's model outside any distribution, compiled (a multi-process run's twin)."""
        from recdsl.emitter import emit

        model = emit(self.spec)
        compile_model(model, self.schema.labels, self.config, keras, jit=False)
        return model

    def finish(self, model, keras) -> RunResult:
        run_dir, history = self.run_dir, self.progress.history
        metrics = {name: split_metrics(model, self.splits[name], self.schema.labels, self.config.eval_batch_size)
                   for name in ("valid", "test") if name in self.splits}
        save_model_file(model, run_dir / "model.keras")  # without optimizer state: serving size
        if self.progress.best_weights:  # the best epoch's model, restored: one copy of it on disk
            link_or_copy(run_dir / "model.keras", run_dir / "checkpoints" / "best.keras")
        valid, train_split = self.splits.get("valid"), self.splits["train"]
        attention = attention_report(model, self.spec, valid.inputs if valid is not None and valid.inputs else
                                     train_split.inputs or {})
        timing = self.timing()
        self.info["data"] = _data_summary(self.splits)  # a streamed split counts its fixes as it trains
        write_json(run_dir / "metrics.json", metrics)
        write_history(run_dir, history)
        self.report(metrics, attention, timing)
        self.info.update(timing=timing, backend=keras.backend.backend())
        self.record("finished")
        shutil.rmtree(run_dir / BACKUP, ignore_errors=True)  # finished: nothing to resume
        return RunResult(run_dir, metrics, history, timing, attention, self.info["data"]["fixes"])

    def fail(self, stop: TrainingDiverged) -> None:
        """A diverged run's folder: its history, run.json `failed` with the reason, a report that
        says so, and no model.keras (nor a backup: resuming would diverge again)."""
        self.clock.setdefault("train", time.perf_counter())
        timing = self.timing()
        try:
            write_history(self.run_dir, self.progress.history)
            self.report({}, {}, timing, failure=stop.message)
        finally:
            self.info["timing"] = timing
            self.record("failed", error=stop.message, failed_at={"epoch": stop.epoch, "step": stop.step})
            shutil.rmtree(self.run_dir / BACKUP, ignore_errors=True)

    def timing(self) -> dict:
        first = getattr(self, "timing_cb", None)
        known = first and first.first_step_times and first.first_call_steps[0]
        return _timing(self.clock, self.progress, self.splits["train"],
                       self.config.batch_size * first.first_call_steps[0] if known else 0,
                       first.first_step_times[0] if known else None,
                       best_epoch(self.progress.history, self.monitor, self.mode))

    def report(self, metrics, attention, timing, failure=None) -> None:
        from recdsl.training.report import write_report

        config = self.config
        write_report(self.run_dir, spec_name=self.spec.name, spec_path=self.info["spec"], spec_source=self.spec_text,
                     data=self.info["data"], metrics=metrics, history=self.progress.history, attention=attention,
                     timing=timing, config={k: getattr(config, k) for k in REPORTED_SETTINGS},
                     diagram=_diagram(self.spec, self.run_dir), failure=failure,
                     served=[(o.output, o.meaning) for o in self.schema.served])


def _load_data(schema, train_paths, valid_paths, test_paths, config: RunConfig, log, shard=(0, 1)):
    """(preprocessing fitted on the training files, {split name: Split}, whether train is streamed).
    Every split is loaded into memory except a training set larger than config.cache_mb."""
    say(log, f"fitting preprocessing on {', '.join(str(p) for p in source.resolve(train_paths))}")
    pre = Preprocessor.fit(source.read(train_paths, schema, FixLog("train"), missing=config.missing), schema)
    splits = {"train": Split("train", train_paths, pre, missing=config.missing, shard=shard)}
    if valid_paths:
        splits["valid"] = Split("valid", valid_paths, pre, missing=config.missing)
    if test_paths:
        splits["test"] = Split("test", test_paths, pre, missing=config.missing)
    streamed = splits["train"].estimated_mb() > config.cache_mb
    for name, split in splits.items():
        if name != "train" or not streamed:
            split.load()
            say(log, f"{name}: {split.rows:,} rows")
    if streamed:
        say(log, f"train: ~{splits['train'].row_estimate():,} rows, streamed "
                  f"(over cache_mb={config.cache_mb})")
    return pre, splits, streamed


def _timing(clock: dict, progress: Progress, train_split: Split, first_rows: int, first_step, best) -> dict:
    """run.json's timing: epochs, best epoch, seconds per phase (training: over every process of a
    resumed run), the steady training samples/s apart from the compile and warm-up seconds
    (recdsl.training.throughput; first_step: the seconds of this process's first epoch's first
    call of the training function, which trained first_rows rows)."""
    rows = train_split.rows or train_split.row_estimate()
    epoch_times = progress.epoch_times
    first_step = first_step if not progress.resumed else None
    return {
        "epochs": len(epoch_times),
        "best_epoch": best,
        "train_seconds": round(progress.fit_seconds, 3),
        **throughput(epoch_times, rows, resumed=progress.resumed, first_step=first_step, first_rows=first_rows),
        "epoch_seconds": [round(t, 3) for t in epoch_times],
        "data_seconds": round(clock["data"] - clock["start"], 3),
        "build_seconds": round(clock.get("build", clock["data"]) - clock["data"], 3),
    }


def _data_summary(splits: dict) -> dict:
    """{split: {"files", "rows", "label_rate"}, "fixes": [every split's fixed or dropped rows]}."""
    data = {name: {"files": [str(p) for p in s.paths], "rows": s.rows, "label_rate": s.label_rate}
            for name, s in splits.items()}
    data["fixes"] = [fix for split in splits.values() for fix in split.fixes.rows()]
    return data


def _diagram(spec, run_dir: Path):
    """run_dir/NAME.svg, the architecture diagram; None without Graphviz (NAME.dot is written)."""
    from recdsl.diagram import GraphvizMissing, render
    from recdsl.graph import build_graph

    path = run_dir / f"{spec.name}.svg"
    try:
        with atomic_path(path) as tmp:
            render(build_graph(spec), tmp)
    except GraphvizMissing as missing:
        dot = Path(str(missing))
        if dot.is_file():
            dot.replace(path.with_suffix(".dot"))
        return None
    return path
