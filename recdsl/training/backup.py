"""Backups inside an epoch, and a clean stop on SIGTERM or Ctrl-C.

A one- or two-epoch run over big data must not lose an epoch's work to a preemption. During
training the `StepBackup` callback writes a backup (recdsl.training.progress describes the files)

    every `backup_every_steps` training steps (run setting; 0: off), and
    every `backup_every_seconds` seconds (run setting; default 600, every 10 minutes; 0: off),

checked at the end of each step, on top of the backup at every epoch's end; and when the run is
asked to stop. `stop_requests()` turns SIGTERM (what a cluster sends before it preempts a job) and
the first Ctrl-C (SIGINT) into such a request: the step that runs finishes, the run backs itself
up and raises RunInterrupted (exit code 143 or 130; run.json says "interrupted"), and
`recdsl train --resume` continues from there. A second Ctrl-C interrupts at once. Outside
training (loading, building, scoring, the report) `interrupt_on_sigterm()` turns SIGTERM into
RunInterrupted at once, so run.json says "interrupted" rather than "running".
"""
from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time
from pathlib import Path

from recdsl.training.atomic import atomic_path
from recdsl.training.progress import BACKUP, Progress, seed_states
from recdsl.training.runs import RunInterrupted

#: the signal that asked the run to stop, once one has (set by the handlers of stop_requests)
_requested: dict = {"signal": None}


def _ask_to_stop(signum, frame) -> None:
    _requested["signal"] = signum
    if signum == signal.SIGINT:  # a second Ctrl-C interrupts at once
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def _handled(signals, handler):
    """While the block runs, `handler` handles `signals`; the handlers before are put back after.
    Main thread only: elsewhere signals cannot be handled, and the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, previous in before.items():
            signal.signal(s, previous)


@contextlib.contextmanager
def stop_requests():
    """While the block runs, SIGTERM and SIGINT ask the run to stop at the end of the current step
    instead of killing it."""
    _requested["signal"] = None
    with _handled((signal.SIGTERM, signal.SIGINT), _ask_to_stop):
        yield


def _interrupt(signum, frame) -> None:
    raise RunInterrupted(f"the run was stopped by {signal.Signals(signum).name} outside training",
                         hint="`recdsl train` with the same arguments and --resume continues it from its "
                              "last backup", signum=signum)


def interrupt_on_sigterm():
    """While the block runs, SIGTERM raises RunInterrupted where the run is (loading the data,
    building, scoring, writing the report), so the run records itself as interrupted instead of
    dying with run.json saying `running`; inside `stop_requests()` training stops cleanly instead."""
    return _handled((signal.SIGTERM,), _interrupt)


def stop_requested() -> int | None:
    return _requested["signal"]


def metric_variables(model) -> list:
    """The compiled loss tracker's and metrics' variables: running sums over the epoch's steps
    (Keras' Mean keeps total and count, AUC its confusion counts), so that the sums of the steps
    before a backup can be added to those after it."""
    return list(model.metrics_variables)


@functools.cache
def _callback_class():
    import keras

    class StepBackup(keras.callbacks.Callback):
        """Backs the run up inside epochs (see the module docstring); `first_step` is the step of
        its first epoch that a resumed run starts after, whose metric sums it adds back after the
        first step (Keras resets the metrics at the start of each epoch and builds them on the
        first step)."""

        def __init__(self, run_dir: Path, progress: Progress, *, every_steps: int, every_seconds: float):
            super().__init__()
            self.run_dir, self.progress = Path(run_dir), progress
            self.every_steps, self.every_seconds = every_steps, every_seconds
            self.first_step, self._pending = progress.step, list(progress.metric_sums)

        def on_train_begin(self, logs=None):
            self._fit_base, self._fit_start = self.progress.fit_seconds, time.perf_counter()
            self._last_time = self._fit_start

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self._epoch_start = epoch, time.perf_counter()
            self._carried = self.progress.step_seconds  # an earlier process's part of this epoch
            self._offset, self.first_step = self.first_step, 0
            self._last_step = self._offset

        def on_train_batch_end(self, batch, logs=None):
            if self._pending:
                for variable, value in zip(metric_variables(self.model), self._pending):
                    variable.assign(variable + keras.ops.convert_to_tensor(value, variable.dtype))
                self._pending = []
            step = self._offset + batch + 1
            last = self.params.get("steps")
            if last is not None and batch + 1 >= last:
                return  # the epoch's end backs up next (and stops a run asked to)
            now = time.perf_counter()
            due = ((self.every_steps and step - self._last_step >= self.every_steps)
                   or (self.every_seconds and now - self._last_time >= self.every_seconds))
            if due or stop_requested():
                self._backup(step, now)
            self._stop_if_asked(f"epoch {self.epoch + 1}, step {step}")

        def on_epoch_end(self, epoch, logs=None):
            self._last_time = time.perf_counter()
            self._stop_if_asked(f"the end of epoch {epoch + 1}")

        def _backup(self, step: int, now: float) -> None:
            p, backup = self.progress, self.run_dir / BACKUP
            backup.mkdir(exist_ok=True)
            p.step, p.step_seconds = step, self._carried + now - self._epoch_start
            p.fit_seconds = self._fit_base + now - self._fit_start
            p.weights = f"step-{self.epoch + 1:04d}-{step:07d}.weights.h5"
            with atomic_path(backup / p.weights) as tmp:
                self.model.save_weights(tmp)
            p.seeds = [keras.ops.convert_to_numpy(v).tolist() for v in seed_states(self.model)]
            p.metric_sums = [keras.ops.convert_to_numpy(v).tolist() for v in metric_variables(self.model)]
            p.save(self.run_dir)
            self._last_step, self._last_time = step, time.perf_counter()

        def _stop_if_asked(self, where: str) -> None:
            signum = stop_requested()
            if signum is None:
                return
            name = signal.Signals(signum).name
            raise RunInterrupted(f"training stopped by {name} at {where}, after a backup of the run",
                                 hint="`recdsl train` with the same arguments and --resume continues it",
                                 signum=signum)

    return StepBackup


def step_backup(run_dir: Path, progress: Progress, *, every_steps: int, every_seconds: float):
    """The callback that backs a run up inside its epochs and stops it when asked."""
    return _callback_class()(run_dir, progress, every_steps=every_steps, every_seconds=every_seconds)
