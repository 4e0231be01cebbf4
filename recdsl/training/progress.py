"""A run's progress, kept across processes: the history of every epoch, the epoch times, the best
epoch (early stopping, checkpoints/best.keras and the weights restored at the end) and backup/,
which `recdsl train --resume` continues from.

Resume is exact at epoch ends. After every epoch, in this order (each file atomic):

    backup/epoch-K.weights.h5   the weights and the optimizer state after epoch K
    backup/best-K.weights.h5    when epoch K becomes the best: the weights restored at the end
    checkpoints/best.keras      likewise, a whole model for the user
    backup/state.json           the commit point: epoch K, the history, epoch times, best epoch,
                                epochs without improvement, the dropout generators' states
    history.json, history.csv   the history so far

A run killed at any moment resumes from its last state.json: the weights, optimizer and random
state of epoch K are restored and epochs K+1... are trained on the same batches an uninterrupted
run trains on (the training stream is skipped past the K epochs it already served), so the run
ends with the same weights, history and metrics. What an interrupted epoch had done is trained
again. Keras is imported inside the functions.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import math
import time
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

    @classmethod
    def load(cls, run_dir) -> "Progress | None":
        """The state of an interrupted run, or None when it had completed no epoch."""
        path = Path(run_dir) / BACKUP / STATE
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, run_dir: Path) -> None:
        write_json(run_dir / BACKUP / STATE, asdict(self))

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


def _seed_states(model) -> list:
    """The state variables of the model's random generators (dropout), which weights files omit."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def restore(model, run_dir: Path, progress: Progress, *, final: bool) -> None:
    """Put the model where `progress` left it: the last epoch's weights and optimizer state and the
    random generators' states; with final, the weights the run ends with (the best epoch's when
    it restores the best, else the last epoch's)."""
    backup = run_dir / BACKUP
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # else load_weights skips its state
    model.load_weights(backup / progress.weights)
    for variable, value in zip(_seed_states(model), progress.seeds):
        variable.assign(value)
    if final and progress.best_weights:
        model.load_weights(backup / progress.best_weights)


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
            self._fit_base = progress.fit_seconds

        def on_train_begin(self, logs=None):
            self._fit_start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            p, logs = self.progress, logs or {}
            p.epochs = epoch + 1
            for key, value in logs.items():
                if isinstance(value, (int, float)):
                    p.history.setdefault(key, []).append(float(value))
            p.epoch_times.append(self.timing.epoch_times[-1])
            p.fit_seconds = self._fit_base + time.perf_counter() - self._fit_start
            improved = _improved(logs.get(self.monitor), p.best_value, self.mode)
            self._save(epoch + 1, improved)
            if self.patience > 0 and not improved and p.wait >= self.patience and epoch > 0:
                p.stopped = True
                self.model.stop_training = True
            p.save(self.run_dir)
            write_history(self.run_dir, p.history)
            self._prune()

        def _save(self, epoch: int, improved: bool) -> None:
            """The backup files of this epoch and the best-epoch bookkeeping (before state.json)."""
            p, backup = self.progress, self.run_dir / BACKUP
            backup.mkdir(exist_ok=True)
            p.weights = f"epoch-{epoch:04d}.weights.h5"
            with atomic_path(backup / p.weights) as tmp:
                self.model.save_weights(tmp)
            p.seeds = [keras.ops.convert_to_numpy(v).tolist() for v in _seed_states(self.model)]
            p.wait += 1
            if improved:
                p.best_value, p.wait = float(self.progress.history[self.monitor][-1]), 0
                (self.run_dir / "checkpoints").mkdir(exist_ok=True)
                with atomic_path(self.run_dir / "checkpoints" / "best.keras") as tmp:
                    self.model.save(tmp)
            if self.restore_best and (improved or p.best_weights is None):
                p.best_epoch, p.best_weights = epoch, f"best-{epoch:04d}.weights.h5"
                with atomic_path(backup / p.best_weights) as tmp:
                    self.model.save_weights(tmp)

        def _prune(self) -> None:
            """Remove the backup files state.json no longer names."""
            keep = {STATE, self.progress.weights, self.progress.best_weights}
            for path in (self.run_dir / BACKUP).glob("*.weights.h5"):
                if path.name not in keep:
                    path.unlink(missing_ok=True)

        def on_train_end(self, logs=None):
            if self.restore_best and self.progress.best_weights:
                self.model.load_weights(self.run_dir / BACKUP / self.progress.best_weights)

    return RunProgress


def run_progress(run_dir: Path, progress: Progress, timing, *, monitor: str, mode: str, patience: int,
                 restore_best: bool):
    """The callback that records a run's epochs and backs it up (see the module docstring)."""
    return _callback_class()(run_dir, progress, timing, monitor=monitor, mode=mode, patience=patience,
                             restore_best=restore_best)
