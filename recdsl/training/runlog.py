"""What a run tells its user while it trains, beyond Keras' own bar: a progress line every few
seconds when stdout is not a terminal (a log file, CI, a cluster job), the regularisation penalty
split out of the training loss, and TensorBoard scalars whose train and validation series share a
tag.

Keras is imported inside the functions: importing this module stays cheap.
"""
from __future__ import annotations

import functools
import time

from recdsl.ops.heads import head_of

#: TensorBoard: step-level scalars every this many training steps
TENSORBOARD_STEPS = 100
#: a head's loss -> (the live metric holding the same quantity, how to turn it into the loss)
DATA_LOSS_METRICS = {"BinaryCrossentropy": ("logloss", lambda v: v),
                     "MeanSquaredError": ("rmse", lambda v: v * v)}


def clock_text(seconds: float) -> str:
    """A duration for a progress line: "42 s", "3 min 05 s", "2 h 07 min"."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def progress_line(epoch: int, epochs: int, rows: int, total: int | None, approximate: bool,
                  rate: float | None, loss) -> str:
    """"epoch 2/5: 40,960 of 300,000 rows (14%), 5,120 samples/s, loss 0.4512, ETA 51 s" (ETA:
    the epoch's rows left / rate); parts that are unknown are left out."""
    parts = [f"{rows:,} rows"]
    if total:
        approx = "~" if approximate else ""
        parts = [f"{rows:,} of {approx}{total:,} rows ({min(rows / total, 1.0):.0%})"]
    if rate:
        parts.append(f"{rate:,.0f} samples/s")
    if isinstance(loss, (int, float)):
        parts.append(f"loss {loss:.4f}")
    if rate and total and total > rows:
        parts.append(f"ETA {clock_text((total - rows) / rate)}")
    return f"epoch {epoch}/{epochs}: " + ", ".join(parts)


def single_output_aliases(labels) -> dict:
    """A single-output model's live metric names -> the names its validation metrics carry
    ("auc" -> "ctr_auc"), so train and validation of one metric share a tag; {} otherwise
    (Keras names a multi-output model's metrics OUTPUT_METRIC already)."""
    if len(labels) != 1:
        return {}
    lab = labels[0]
    return {name: f"{lab.output}_{name}" for _, name in head_of(lab.loss).live_metrics}


def data_loss(labels, logs: dict) -> float | None:
    """The epoch's training loss without the regularisation penalty: sum over outputs of label
    weight x the head's loss, read from the live metric that tracks it (the mean over the epoch's
    rows, as Keras' `loss` is); None when an output's head has no such metric."""
    total = 0.0
    for lab in labels:
        found = DATA_LOSS_METRICS.get(head_of(lab.loss).loss)
        key = found and (found[0] if len(labels) == 1 else f"{lab.output}_{found[0]}")
        value = logs.get(key) if key else None
        if not isinstance(value, (int, float)):
            return None
        total += lab.weight * found[1](float(value))
    return total


def regularised(layer) -> bool:
    """Whether a layer adds a regularisation loss (a recdsl l2= table, or a Keras regularizer)."""
    if getattr(layer, "l2", 0):
        return True
    return any(getattr(layer, f"{what}_regularizer", None) is not None
               for what in ("kernel", "bias", "embeddings", "activity"))


@functools.cache
def _classes():
    import keras

    class ProgressLines(keras.callbacks.Callback):
        """Every `every` seconds of training, `log(progress_line(...))`. The rate counts the rows
        after the epoch's first step, so it leaves out the first step's tracing and compilation."""

        def __init__(self, every: float, log, *, total_rows, approximate: bool, batch_size: int, epochs: int,
                     clock=time.monotonic):
            super().__init__()
            self.every, self.log, self.total, self.approximate = every, log, total_rows, approximate
            self.batch_size, self.epochs, self.clock = batch_size, epochs, clock

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.last, self.first = epoch + 1, self.clock(), None

        def on_train_batch_end(self, batch, logs=None):
            now, rows = self.clock(), (batch + 1) * self.batch_size
            if self.total and not self.approximate:
                rows = min(rows, self.total)
            if self.first is None:
                self.first = (now, rows)
            if now - self.last < self.every:
                return
            self.last = now
            since, done = now - self.first[0], rows - self.first[1]
            rate = done / since if since > 0 and done > 0 else None
            self.log(progress_line(self.epoch, self.epochs, rows, self.total, self.approximate, rate,
                                   (logs or {}).get("loss")))

    class PenaltyLog(keras.callbacks.Callback):
        """Writes `penalty` into the epoch logs: Keras' training `loss` (which adds the model's
        regularisation losses, the spec's l2= penalties) minus the data loss (`data_loss`), the
        mean penalty per row over the epoch. Validation losses never include it. Only for a model
        with a regularised layer (`regularised`)."""

        def __init__(self, labels):
            super().__init__()
            self.labels = labels

        def on_train_begin(self, logs=None):
            self.active = any(regularised(layer) for layer in self.model.layers)

        def on_epoch_end(self, epoch, logs=None):
            if not self.active or logs is None or not isinstance(logs.get("loss"), (int, float)):
                return
            data = data_loss(self.labels, logs)
            if data is not None:
                logs["penalty"] = max(float(logs["loss"]) - data, 0.0)

    class PairedTensorBoard(keras.callbacks.TensorBoard):
        """TensorBoard whose train scalars carry the validation scalars' names (`aliases`): a
        single-output model's `auc` is written as `ctr_auc`, beside validation's `val_ctr_auc`, so
        both are runs (train, validation) of the tag epoch_ctr_auc."""

        def __init__(self, log_dir: str, aliases: dict, **kwargs):
            super().__init__(log_dir, **kwargs)
            self.aliases, self.every = aliases, self.update_freq

        # Keras counts the training function's calls; with several steps a call
        # (recdsl.training.fitloop.execution_steps) the step scalars are put at the step each call
        # ends at, every `every` steps rounded up to a whole number of calls.
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            calls = self.model.steps_per_execution
            if self.every != "epoch":
                self.update_freq = -(-self.every // calls) * calls
            self._steps_before = 0

        def on_epoch_begin(self, epoch, logs=None):
            super().on_epoch_begin(epoch, logs)
            self._steps_before = self._global_train_batch

        def on_train_batch_begin(self, batch, logs=None):
            self._global_train_batch = self._steps_before + batch + self.model.steps_per_execution - 1
            super().on_train_batch_begin(batch, logs)  # adds the call's last step

        def _renamed(self, logs):
            return {self.aliases.get(k, k): v for k, v in (logs or {}).items()}

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, self._renamed(logs))

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, self._renamed(logs))

    return ProgressLines, PenaltyLog, PairedTensorBoard


def progress_lines(every: float, log, *, total_rows, approximate: bool, batch_size: int, epochs: int):
    """The progress-line callback ([] when `every` is 0 or there is no log)."""
    if not every or every <= 0 or log is None:
        return []
    return [_classes()[0](every, log, total_rows=total_rows, approximate=approximate, batch_size=batch_size,
                          epochs=epochs)]


def penalty_log(labels):
    """The callback writing the epoch's mean regularisation `penalty` into its logs."""
    return _classes()[1](labels)


def run_tensorboard(log_dir, labels):
    """TensorBoard logs of a run: epoch scalars (train and validation under one tag per metric)
    and step scalars every TENSORBOARD_STEPS steps."""
    return _classes()[2](str(log_dir), single_output_aliases(labels), write_graph=False, profile_batch=0,
                         update_freq=TENSORBOARD_STEPS)
