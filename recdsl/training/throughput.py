"""Compile time against steady throughput.

The first epoch of a process (a run's epoch 1, and the first epoch after each resume) traces the
model and, with XLA, compiles it: on MovieLens DIN it takes 74.7 s where later epochs take 7-9 s.
So the run's throughput is measured on the other epochs ("steady" epochs), and the compile and
warm-up cost is reported on its own:

    steady seconds per epoch = median of the steady epochs' times
    samples/s               = training rows / steady seconds per epoch
    compile seconds         = epoch 1's time - steady seconds per epoch

A run of one epoch has no steady epoch: its steps after the first call of the training function
are steady instead (samples/s = (rows - the first call's rows) / (epoch time - the first call's
time), compile seconds = the first call's time - its rows at the steady rate; a call runs one
step or several: recdsl.training.fitloop.execution_steps). When neither is known the throughput includes the
compilation, and `steady` says so.
"""
from __future__ import annotations

import statistics


def compile_epochs(resumed: list) -> set[int]:
    """1-based epochs that start a process: epoch 1 and the epoch after each resume point."""
    return {1} | {int(done) + 1 for done in resumed}


def throughput(epoch_times: list, rows: int, *, resumed=(), first_step: float | None = None,
               first_rows: int = 0) -> dict:
    """{"samples_per_sec", "compile_seconds", "steady"}: the steady throughput, the first epoch's
    compile and warm-up cost, and what the steady figure is measured on ("epochs 2-5", "the steps
    of epoch 1 after its first", or "epoch 1, compilation included")."""
    times = [float(t) for t in epoch_times]
    if not times or not rows:
        return {"samples_per_sec": None, "compile_seconds": None, "steady": None}
    starts = compile_epochs(list(resumed))
    steady = [(i, t) for i, t in enumerate(times, 1) if i not in starts and t > 0]
    if steady:
        per_epoch = statistics.median(t for _, t in steady)
        return {"samples_per_sec": round(rows / per_epoch, 1),
                "compile_seconds": round(max(times[0] - per_epoch, 0.0), 3) if 0 not in resumed else None,
                "steady": _epochs_text([i for i, _ in steady])}
    rest = times[0] - (first_step or 0.0)
    if len(times) == 1 and first_step is not None and rows > first_rows > 0 and rest > 0:
        rate = (rows - first_rows) / rest
        return {"samples_per_sec": round(rate, 1), "compile_seconds": round(max(first_step - first_rows / rate, 0.0), 3),
                "steady": "the steps of epoch 1 after its first call"}
    return {"samples_per_sec": round(rows / statistics.median(times), 1), "compile_seconds": None,
            "steady": f"{_epochs_text(range(1, len(times) + 1))}, compilation included"}


def _epochs_text(epochs) -> str:
    """"epochs 2-5", "epoch 3", "epochs 2, 4-5"."""
    epochs = sorted(epochs)
    runs, start = [], None
    for i, e in enumerate(epochs):
        if start is None:
            start = e
        if i + 1 == len(epochs) or epochs[i + 1] != e + 1:
            runs.append(f"{start}" if start == e else f"{start}-{e}")
            start = None
    return ("epochs " if len(epochs) > 1 else "epoch ") + ", ".join(runs)


def timing_line(timing: dict) -> str:
    """The end of `recdsl train`: "5 epoch(s) in 104.9 s: compile and warm-up 66.3 s, then
    10,873 samples/s (steady: epochs 2-5); best epoch 4"."""
    text = f"{timing.get('epochs')} epoch(s) in {timing.get('train_seconds', 0):.1f} s"
    parts = []
    if timing.get("compile_seconds") is not None:
        parts.append(f"compile and warm-up {timing['compile_seconds']:.1f} s")
    if timing.get("samples_per_sec"):
        parts.append(f"{'then ' if parts else ''}{timing['samples_per_sec']:,.0f} samples/s"
                     + (f" (steady: {timing['steady']})" if timing.get("steady") else ""))
    if parts:
        text += ": " + ", ".join(parts)
    return text + f"; best epoch {timing.get('best_epoch')}"
