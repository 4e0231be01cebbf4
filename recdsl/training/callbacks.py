"""The Keras callbacks of a training run: epoch timing, the divergence guard, the L2 penalty and
the progress lines (recdsl.training.runlog), exact validation metrics, the run's progress
(history, best epoch, early stopping, checkpoint, backup: recdsl.training.progress) and
TensorBoard (train and validation under one tag, step scalars: recdsl.training.runlog).

Keras is imported inside the functions: importing this module stays cheap.

Test hooks (for tests/training/test_resume.py, which kills runs to check that they resume):
RECDSL_TEST_KILL_AFTER_BATCHES=N kills the process with SIGKILL after the call that trains its Nth
batch (several a call: recdsl.training.fitloop.execution_steps),
RECDSL_TEST_KILL_AFTER_EPOCHS=N after its Nth epoch has been backed up; RECDSL_TEST_KILL_SIGNAL=TERM
sends SIGTERM instead (a preemption: recdsl.training.backup).
"""
from __future__ import annotations

import functools
import math
import os
import signal
import time
from pathlib import Path

import numpy as np

from recdsl.data.pipeline import Split
from recdsl.ops.heads import head_of
from recdsl.training.backup import step_backup
from recdsl.training.config import RunConfig
from recdsl.training.progress import Progress, run_progress
from recdsl.training.runlog import penalty_log, progress_lines, run_tensorboard
from recdsl.training.runs import TrainingDiverged
from recdsl.training.scoring import predict_split, scores_metrics

DIVERGED_HINT = ("lower the learning rate (--lr) or the spec's l2= values; history.json and report.md "
                 "hold the epochs before it")


def monitor_of(config: RunConfig, labels, has_valid: bool) -> tuple[str, str]:
    """(history key, "max"/"min") that early stopping and the checkpoint follow: the training loss
    without validation data; else config.monitor of the first output when its head has that
    metric, else val_loss."""
    if not has_valid:
        return "loss", "min"
    first = labels[0]
    found = None if config.monitor == "loss" else head_of(first.loss).monitor(config.monitor)
    if found is None:
        return "val_loss", "min"
    metric, mode = found
    return f"val_{first.output}_{metric}", mode


@functools.cache
def _classes():
    import keras

    class EpochTiming(keras.callbacks.Callback):
        """Wall time of each epoch's training steps (validation excluded: it runs after), and of
        the first call of its training function (`first_step_times`: tracing and compiling happen
        there) with the steps that call ran (`first_call_steps`)."""

        def __init__(self):
            super().__init__()
            self.epoch_times: list[float] = []
            self.first_step_times: list[float | None] = []
            self.first_call_steps: list[int | None] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t, self._first, self._steps = time.perf_counter(), None, None

        def on_train_batch_end(self, batch, logs=None):
            if self._first is None:
                self._first, self._steps = time.perf_counter() - self._t, batch + 1

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_times.append(time.perf_counter() - self._t)
            self.first_step_times.append(self._first)
            self.first_call_steps.append(self._steps)

    class ExactValidation(keras.callbacks.Callback):
        """Exact validation metrics each epoch (numpy AUC, not the thresholded streaming estimate),
        written into the epoch logs as val_OUTPUT_METRIC for each output head's metrics, and
        val_loss: the sum over outputs of label weight x the head's objective. Scores that are not
        finite stop the run (TrainingDiverged)."""

        def __init__(self, split: Split, labels, batch_size: int):
            super().__init__()
            self.split, self.labels, self.batch_size = split, labels, batch_size

        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            scores, truth = predict_split(self.model, self.split, self.batch_size)
            for output, values in scores.items():
                bad = values[~np.isfinite(values)]
                if bad.size:
                    raise TrainingDiverged(f"the validation scores of `{output}` became {bad[0]} at the end of "
                                           f"epoch {epoch + 1} (the model's weights are no longer finite)",
                                           DIVERGED_HINT, epoch=epoch + 1)
            found = scores_metrics(self.labels, scores, truth)
            total = 0.0
            for lab in self.labels:
                for key, value in found[lab.output].items():
                    logs[f"val_{lab.output}_{key}"] = value
                total += lab.weight * head_of(lab.loss).objective(found[lab.output])
            logs["val_loss"] = total

    class DivergenceGuard(keras.callbacks.Callback):
        """Stops the run (TrainingDiverged) at the first step whose training loss is NaN or infinite;
        with several steps a compiled call, at the end of the first such call, naming its steps
        (failed_at's step: the call's last)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if isinstance(loss, (int, float)) and not math.isfinite(loss):
                calls = self.model.steps_per_execution
                where = f"step {batch + 1}" if calls == 1 else f"one of steps {batch + 2 - calls}-{batch + 1}"
                raise TrainingDiverged(f"the training loss became {loss} at epoch {self.epoch}, {where}",
                                       DIVERGED_HINT, epoch=self.epoch, step=batch + 1)

    class KillSwitch(keras.callbacks.Callback):
        """The test hooks of the module docstring: SIGKILL after N batches or epochs."""

        def __init__(self, batches: int | None, epochs: int | None):
            super().__init__()
            self.batches, self.epochs = batches, epochs

        def on_train_batch_end(self, batch, logs=None):
            self._count("batches", self.model.steps_per_execution)  # the steps of the call

        def on_epoch_end(self, epoch, logs=None):
            self._count("epochs", 1)

        def _count(self, what: str, done: int) -> None:
            left = getattr(self, what)
            if left is not None:
                setattr(self, what, left - done)
                if 0 < left <= done:
                    os.kill(os.getpid(), getattr(signal, f"SIG{os.environ.get('RECDSL_TEST_KILL_SIGNAL', 'KILL')}"))

    return EpochTiming, ExactValidation, DivergenceGuard, KillSwitch


def epoch_timing():
    """A callback whose `epoch_times` lists each epoch's training seconds."""
    return _classes()[0]()


def exact_validation(split: Split, labels, batch_size: int):
    """A callback writing each output's exact metrics on `split` and val_loss into the epoch logs."""
    return _classes()[1](split, labels, batch_size)


def _kill_switch(classes):
    env = {what: os.environ.get(f"RECDSL_TEST_KILL_AFTER_{what.upper()}") for what in ("batches", "epochs")}
    if not any(env.values()):
        return []
    return [classes[3](*(int(env[w]) if env[w] else None for w in ("batches", "epochs")))]


def run_callbacks(keras, run_dir: Path, valid: Split | None, labels, config: RunConfig, *,
                  monitor: str, mode: str, progress: Progress, timing, log=None, progress_every: float = 0.0,
                  train_rows: int | None = None, rows_approximate: bool = False) -> list:
    """Every callback of a run after the timing one, in the order Keras calls them. With
    progress_every > 0 and a log, a progress line every progress_every seconds
    (recdsl.training.runlog; train_rows: the rows of an epoch, approximate for streamed data)."""
    classes = _classes()
    callbacks = [classes[2](), penalty_log(labels)]
    callbacks += progress_lines(progress_every, log, total_rows=train_rows, approximate=rows_approximate,
                                batch_size=config.batch_size, epochs=config.epochs)
    if valid is not None:
        callbacks.append(exact_validation(valid, labels, config.eval_batch_size))
    restore_best = valid is not None and config.patience > 0
    callbacks.append(run_progress(run_dir, progress, timing, monitor=monitor, mode=mode,
                                  patience=config.patience if restore_best else 0, restore_best=restore_best))
    if keras.backend.backend() == "tensorflow":
        callbacks.append(run_tensorboard(run_dir / "logs", labels))
    callbacks.append(step_backup(run_dir, progress, every_steps=config.backup_every_steps,
                                 every_seconds=config.backup_every_seconds))  # after run_progress
    return callbacks + _kill_switch(classes)
