"""A run's progress, kept across processes: the history of every epoch, the epoch times, the best
epoch (early stopping, checkpoints/best.keras and the weights restored at the end) and backup/,
which `recdsl train --resume` continues from.

Resume is exact, at an epoch end and inside an epoch. After every epoch, in this order (each
file atomic):

    backup/epoch-K.weights.h5   the weights and the optimizer state after epoch K
    backup/best-K.keras         when epoch K becomes the best and the run restores the best
                                epoch at the end: its model without optimizer state; hard-linked
                                as checkpoints/best.keras (one copy on disk)
    checkpoints/best.keras      the best epoch's model so far, for the user (serving size)
    backup/state.json           the commit point: epoch K, the history, epoch times, best epoch,
                                epochs without improvement, the dropout generators' states
    history.json, history.csv   the history so far

Inside an epoch, recdsl.training.backup writes backup/step-K-S.weights.h5 (the weights and
optimizer state after step S of epoch K) and a state.json that adds S and the epoch's running
metric sums, every `backup_every_steps` steps or `backup_every_seconds` seconds and when the run
is stopped by SIGTERM or Ctrl-C.

A run killed at any moment resumes from its last state.json: the weights, optimizer and random
state are restored, the epoch's running metrics are added back, and training continues on the
batches an uninterrupted run trains on (the cached data stream skips the K epochs and S steps it
already served; recdsl.data.pipeline), so the run ends with the same weights, history and
metrics. What was done after the last backup is trained again. Keras is imported inside the
functions.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from recdsl.training.atomic import atomic_path, write_json, write_text

BACKUP = "backup"
STATE = "state.json"


@dataclass
class Progress:
    """Everything about a run's finished epochs that is not a weight (backup/state.json)."""

    epochs: int = 0                                   # epochs completed
    history: dict = field(default_factory=dict)       # {log key: [value per epoch]}
    epoch_times: list = field(default_factory=list)   # training seconds per epoch
    fit_seconds: float = 0.0                          # wall time of fit up to the last epoch's end
    best_value: float | None = None                   # the monitor's best value so far
    best_epoch: int | None = None                     # 1-based: whose weights are restored at the end
    wait: int = 0                                     # epochs since the best (early stopping)
    stopped: bool = False                             # early stopping ended training
    weights: str | None = None                        # backup file of the last epoch
    best_weights: str | None = None                   # backup file of best_epoch
    seeds: list = field(default_factory=list)         # the dropout generators' states
    resumed: list = field(default_factory=list)       # epochs completed when the run was resumed
    resumed_steps: list = field(default_factory=list)  # with each, the steps done in the next epoch
    step: int = 0                                     # steps done in epoch `epochs + 1` (0: at its start)
    step_seconds: float = 0.0                         # training seconds of those steps
    metric_sums: list = field(default_factory=list)   # the epoch's running metric variables at `step`

    @classmethod
    def load(cls, run_dir) -> "Progress | None":
        """The state of an interrupted run, or None when it had completed no epoch."""
        path = Path(run_dir) / BACKUP / STATE
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, run_dir: Path) -> None:
        """backup/state.json, the commit point, then the backup files it no longer names are removed."""
        write_json(run_dir / BACKUP / STATE, asdict(self))
        keep = {self.weights, self.best_weights}
        for path in (run_dir / BACKUP).iterdir():
            if path.name.endswith((".weights.h5", ".keras")) and path.name not in keep:
                path.unlink(missing_ok=True)

    def done(self, epochs: int) -> bool:
        return self.stopped or self.epochs >= epochs


def write_history(run_dir: Path, history: dict) -> None:
    """history.json ({key: [value per epoch]}) and history.csv (epoch from 0, then the keys sorted:
    the layout of Keras' CSVLogger)."""
    write_json(run_dir / "history.json", history)
    keys = sorted(history)
    rows = max((len(v) for v in history.values()), default=0)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["epoch"] + keys)
    for i in range(rows):
        writer.writerow([i] + [history[k][i] if i < len(history[k]) else "NA" for k in keys])
    write_text(run_dir / "history.csv", text.getvalue())


def seed_states(model) -> list:
    """The state variables of the model's random generators (dropout), which weights files omit."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def save_model_file(model, path) -> None:
    """`model` as a .keras file without optimizer state (what serving loads: about 4 bytes per
    parameter, where the compiled model with Adam's two moments is 3x that), atomically."""
    copy = type(model).from_config(model.get_config())  # clone_model would compile it again
    copy.set_weights(model.get_weights())
    with atomic_path(path) as tmp:
        copy.save(tmp)


def link_or_copy(source: Path, target: Path) -> None:
    """`target` as a hard link to `source` (one copy on disk), a copy where links fail; atomic."""
    with atomic_path(target) as tmp:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)


def restore(model, run_dir: Path, progress: Progress, *, final: bool) -> None:
    """Put the model where `progress` left it: the last backup's weights and optimizer state and
    the random generators' states; with final, the weights the run ends with (the best epoch's
    when it restores the best, else the last epoch's)."""
    backup = run_dir / BACKUP
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # else load_weights skips its state
    model.load_weights(backup / progress.weights)
    for variable, value in zip(seed_states(model), progress.seeds):
        variable.assign(value)
    if final:
        restore_best(model, run_dir, progress)


def restore_best(model, run_dir: Path, progress: Progress) -> None:
    """The best epoch's weights, when the run restores them at the end."""
    if progress.best_weights:
        with warnings.catch_warnings():  # the file holds no optimizer state, by design
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(run_dir / BACKUP / progress.best_weights)


def _improved(value, best, mode: str) -> bool:
    if value is None or not math.isfinite(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


@functools.cache
def _callback_class():
    import keras

    class RunProgress(keras.callbacks.Callback):
        """Records each epoch (history, time), follows the best epoch of `monitor` (early stopping
        after `patience` epochs without improvement when patience > 0; the best weights restored
        at the end when restore_best), writes checkpoints/best.keras and the backup."""

        def __init__(self, run_dir: Path, progress: Progress, timing, *, monitor: str, mode: str,
                     patience: int, restore_best: bool):
            super().__init__()
            self.run_dir, self.progress, self.timing = Path(run_dir), progress, timing
            self.monitor, self.mode, self.patience, self.restore_best = monitor, mode, patience, restore_best

        #: recdsl.training.fitloop sets this False while a leg of training (the rest of a
        #: resumed epoch) is followed by another: the best weights are restored after the last
        final_leg = True

        def on_train_begin(self, logs=None):
            self._fit_base, self._fit_start = self.progress.fit_seconds, time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._carried = self.progress.step_seconds  # an earlier process's part of this epoch

        def on_epoch_end(self, epoch, logs=None):
            p, logs = self.progress, logs or {}
            p.epochs = epoch + 1
            for key, value in logs.items():
                if isinstance(value, (int, float)):
                    p.history.setdefault(key, []).append(float(value))
            p.epoch_times.append(self.timing.epoch_times[-1] + self._carried)
            p.step, p.step_seconds, p.metric_sums = 0, 0.0, []
            p.fit_seconds = self._fit_base + time.perf_counter() - self._fit_start
            improved = _improved(logs.get(self.monitor), p.best_value, self.mode)
            self._save(epoch + 1, improved)
            if self.patience > 0 and not improved and p.wait >= self.patience and epoch > 0:
                p.stopped = True
                self.model.stop_training = True
            p.save(self.run_dir)
            write_history(self.run_dir, p.history)

        def _save(self, epoch: int, improved: bool) -> None:
            """The backup files of this epoch and the best-epoch bookkeeping (before state.json)."""
            p, backup = self.progress, self.run_dir / BACKUP
            backup.mkdir(exist_ok=True)
            p.weights = f"epoch-{epoch:04d}.weights.h5"
            with atomic_path(backup / p.weights) as tmp:
                self.model.save_weights(tmp)
            p.seeds = [keras.ops.convert_to_numpy(v).tolist() for v in seed_states(self.model)]
            p.wait += 1
            if improved:
                p.best_value, p.wait = float(self.progress.history[self.monitor][-1]), 0
            elif not (self.restore_best and p.best_weights is None):
                return
            checkpoint = self.run_dir / "checkpoints" / "best.keras"
            checkpoint.parent.mkdir(exist_ok=True)
            if self.restore_best:
                p.best_epoch, p.best_weights = epoch, f"best-{epoch:04d}.keras"
                save_model_file(self.model, backup / p.best_weights)
                link_or_copy(backup / p.best_weights, checkpoint)
            else:
                save_model_file(self.model, checkpoint)

        def on_train_end(self, logs=None):
            if self.restore_best and self.final_leg:
                restore_best(self.model, self.run_dir, self.progress)

    return RunProgress


def run_progress(run_dir: Path, progress: Progress, timing, *, monitor: str, mode: str, patience: int,
                 restore_best: bool):
    """The callback that records a run's epochs and backs it up (see the module docstring)."""
    return _callback_class()(run_dir, progress, timing, monitor=monitor, mode=mode, patience=patience,
                             restore_best=restore_best)
