"""The Keras callbacks of a training run: epoch timing, exact validation metrics, early stopping
on the monitored metric, the best checkpoint, backup for resuming, the CSV log and TensorBoard.

Keras is imported inside the functions: importing this module stays cheap.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path

from recdsl.data.pipeline import Split
from recdsl.ops.heads import head_of
from recdsl.training.config import RunConfig
from recdsl.training.scoring import split_metrics


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
        """Wall time of each epoch's training steps (validation excluded: it runs after)."""

        def __init__(self):
            super().__init__()
            self.epoch_times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_times.append(time.perf_counter() - self._t)

    class ExactValidation(keras.callbacks.Callback):
        """Exact validation metrics each epoch (numpy AUC, not the thresholded streaming estimate),
        written into the epoch logs as val_OUTPUT_METRIC for each output head's metrics, and
        val_loss: the sum over outputs of label weight x the head's objective."""

        def __init__(self, split: Split, labels, batch_size: int):
            super().__init__()
            self.split, self.labels, self.batch_size = split, labels, batch_size

        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            found = split_metrics(self.model, self.split, self.labels, self.batch_size)
            total = 0.0
            for lab in self.labels:
                for key, value in found[lab.output].items():
                    logs[f"val_{lab.output}_{key}"] = value
                total += lab.weight * head_of(lab.loss).objective(found[lab.output])
            logs["val_loss"] = total

    return EpochTiming, ExactValidation


def epoch_timing():
    """A callback whose `epoch_times` lists each epoch's training seconds."""
    return _classes()[0]()


def exact_validation(split: Split, labels, batch_size: int):
    """A callback writing each output's exact metrics on `split` and val_loss into the epoch logs."""
    return _classes()[1](split, labels, batch_size)


def run_callbacks(keras, run_dir: Path, valid: Split | None, labels, config: RunConfig, *,
                  monitor: str, mode: str, resume: bool) -> list:
    """Every callback of a run after the timing one, in the order Keras calls them."""
    callbacks = []
    if valid is not None:
        callbacks.append(exact_validation(valid, labels, config.eval_batch_size))
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
    return callbacks
