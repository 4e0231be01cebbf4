"""Training and inference speed of every example spec under JAX, on a machine with JAX (and a GPU)
but without TensorFlow. bench/gpu.sh installs recdsl and runs this; by hand:

    KERAS_BACKEND=jax python bench/gpu_speed.py                       # every spec, batch 1,024 and 16,384
    KERAS_BACKEND=jax python bench/gpu_speed.py --smoke               # tiny sizes: does it run at all (CPU)
    KERAS_BACKEND=jax python bench/gpu_speed.py --specs din dcn --steps 50 --out gpu.md

For every spec (specs/*.rec), batch size (--batch-sizes) and precision (float32, and Keras mixed
precision `mixed_bfloat16`: bfloat16 compute, float32 weights, float32 heads and loss):

    compile     the first train_on_batch (tracing and XLA compilation), then of predict_on_batch
    training    model.train_on_batch(x, y): forward, backward, Adam update and the metrics, compiled
                as `recdsl train` compiles it (recdsl.training.compilation.compile_model, jit on)
    inference   model.predict_on_batch(x)

each timed over --steps calls after one untimed warm-up call past the compiling one, on --pool
distinct batches already on the device; every call returns numpy, so each step is synchronised.
The inputs are synthetic model inputs built from the spec (no tf.data, no preprocessing): a
categorical feature's rows uniform in 2..rows-1 (never padding), sequences and bags of random
length 1..max_len padded with 0 at the end, numeric values standard normal, labels 0/1 (binary
heads) or normal (mse).

Data parallel: with several local devices, each spec is trained again at the largest batch under
keras.distribution.DataParallel over all of them; speed-up = its samples/s over one device's.
With one device the table says so. Nothing here imports TensorFlow.
"""
from __future__ import annotations

import argparse
import glob
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = ("float32", "mixed_bfloat16")


def synthetic_batch(spec, model, batch: int, rng: np.random.Generator) -> tuple[dict, dict]:
    """Valid random model inputs and labels of `batch` rows for a checked spec and its model."""
    from recdsl.data.schema import schema_of
    from recdsl.ops import load
    from recdsl.ops.feature_inputs import feature_input

    registry, nodes = load(), {n.name: n for n in spec.nodes}
    x = {}
    for name, tensor in model.input.items():
        found = feature_input(nodes[name], nodes, registry)
        shape = (batch, *tuple(tensor.shape)[1:])
        if found.form == "dense":
            x[name] = rng.standard_normal(shape).astype("float32")
            continue
        ids = rng.integers(2, max(found.rows, 3), shape).astype("int32")
        if found.form == "rows":
            lengths = rng.integers(1, shape[1] + 1, batch)
            ids[np.arange(shape[1])[None, :] >= lengths[:, None]] = 0
        x[name] = ids
    y = {label.output: ((rng.random((batch, 1)) < 0.3) if label.loss == "binary"
                        else rng.standard_normal((batch, 1))).astype("float32")
         for label in schema_of(spec).labels}
    return x, y


def built(spec, precision: str, seed: int = 7):
    """The spec's model, compiled as `recdsl train` compiles it (jit on), under `precision`."""
    import keras

    from recdsl.data.schema import schema_of
    from recdsl.emitter import emit
    from recdsl.training.compilation import compile_model
    from recdsl.training.config import RunConfig

    config = RunConfig(precision=precision, seed=seed)
    keras.utils.set_random_seed(seed)  # seeds TensorFlow too where it is installed; not on the GPU machine
    keras.config.set_dtype_policy(precision)
    model = emit(spec)
    compile_model(model, schema_of(spec).labels, config, keras, jit=True)
    return model


def timed(call, batches: list, steps: int) -> tuple[float, float]:
    """(seconds of the first call, seconds per call over `steps` calls after one more warm-up)."""
    start = time.perf_counter()
    call(*batches[0])
    first = time.perf_counter() - start
    call(*batches[1 % len(batches)])
    start = time.perf_counter()
    for i in range(steps):
        call(*batches[i % len(batches)])
    return first, (time.perf_counter() - start) / steps


def on_device(batch: dict) -> dict:
    import keras

    return {k: keras.ops.convert_to_tensor(v) for k, v in batch.items()}


def measure(spec, batch: int, precision: str, steps: int, pool: int) -> dict:
    """One row of the table: compile seconds and the training and inference rates."""
    model = built(spec, precision)
    rng = np.random.default_rng(0)
    data = [synthetic_batch(spec, model, batch, rng) for _ in range(pool)]
    batches = [(on_device(x), on_device(y)) for x, y in data]
    train_first, train_step = timed(lambda x, y: model.train_on_batch(x, y), batches, steps)
    infer_first, infer_step = timed(lambda x, _: model.predict_on_batch(x), batches, steps)
    return {"compile_train": train_first, "compile_infer": infer_first,
            "train_steps": 1 / train_step, "train_samples": batch / train_step, "infer_samples": batch / infer_step}


def data_parallel_rate(spec, batch: int, precision: str, steps: int, pool: int, devices) -> float:
    """Training samples/s under DataParallel over `devices`."""
    import keras

    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    try:
        return measure(spec, batch, precision, steps, pool)["train_samples"]
    finally:
        keras.distribution.set_distribution(None)


def rate(value: float) -> str:
    return f"{value:,.0f}"


def table(rows: list[dict], devices: list, speedups: dict) -> str:
    head = ["spec", "batch", "precision", "compile train / infer (s)", "train steps/s", "train samples/s",
            "inference samples/s", f"data parallel x{len(devices)}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        key = (r["spec"], r["batch"], r["precision"])
        parallel = "one device" if len(devices) == 1 else (f"{speedups[key]:.2f}x" if key in speedups else "")
        lines.append(f"| {r['spec']} | {r['batch']:,} | {r['precision']} | {r['compile_train']:.1f} / "
                     f"{r['compile_infer']:.1f} | {r['train_steps']:.1f} | {rate(r['train_samples'])} | "
                     f"{rate(r['infer_samples'])} | {parallel} |")
    return "\n".join(lines)


def machine(devices) -> str:
    import jax
    import keras

    kinds = sorted({getattr(d, "device_kind", str(d)) for d in jax.devices()})
    return (f"{len(devices)} x {', '.join(kinds)} ({jax.default_backend()}); JAX {jax.__version__}, Keras "
            f"{keras.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPU cores")


def arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--specs", nargs="*", help="spec names (default: every specs/*.rec)")
    p.add_argument("--batch-sizes", type=int, nargs="*", default=[1024, 16384])
    p.add_argument("--precisions", nargs="*", default=list(PRECISIONS), choices=PRECISIONS)
    p.add_argument("--steps", type=int, default=20, help="timed calls per measurement")
    p.add_argument("--pool", type=int, default=2, help="distinct batches cycled over")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (batch 64, 2 steps): a check that it runs")
    p.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    args = p.parse_args(argv)
    if args.smoke:
        args.batch_sizes, args.steps = [64], 2
    return args


def main(argv=None) -> int:
    args = arguments(argv)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    import recdsl

    if keras.backend.backend() != "jax":
        sys.exit(f"gpu_speed.py runs under KERAS_BACKEND=jax, not {keras.backend.backend()}")
    paths = sorted(glob.glob(str(ROOT / "specs" / "*.rec")))
    if args.specs:
        paths = [p for p in paths if Path(p).stem in args.specs]
    devices = keras.distribution.list_devices()
    print(machine(devices), flush=True)
    rows, speedups = [], {}
    for path in paths:
        spec = recdsl.check(path)
        for batch in args.batch_sizes:
            for precision in args.precisions:
                row = {"spec": Path(path).stem, "batch": batch, "precision": precision,
                       **measure(spec, batch, precision, args.steps, args.pool)}
                rows.append(row)
                print(table([row], devices, {}).splitlines()[-1], flush=True)
        if len(devices) > 1:
            batch, precision = max(args.batch_sizes), args.precisions[-1]
            one = next(r for r in rows if (r["spec"], r["batch"], r["precision"]) == (Path(path).stem, batch, precision))
            speedups[(Path(path).stem, batch, precision)] = data_parallel_rate(
                spec, batch, precision, args.steps, args.pool, devices) / one["train_samples"]
    text = f"{machine(devices)}\n\n{table(rows, devices, speedups)}\n"
    if len(devices) == 1:
        text += "\nOne local device: no data-parallel speed-up to measure.\n"
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow")
    if leaked:
        print(f"warning: TensorFlow was imported ({leaked[0]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
