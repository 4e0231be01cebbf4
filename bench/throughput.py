"""Training and inference throughput of recdsl's compiled models, next to a hand-written Keras
reference of the same DIN architecture (bench/reference_din.py) in the same process.

    python bench/throughput.py                                   # defaults below (~8-9 min, 2 CPU cores)
    python bench/throughput.py --steps 3 --batch-sizes 1024      # a quick look
    KERAS_BACKEND=jax python bench/throughput.py                 # same script under JAX (GPU run)

What is measured, for every spec (--specs), batch size (--batch-sizes) and configuration
(--configs):

    float32   float32, no XLA (TensorFlow: tf.function graphs; under JAX, which has no
              compiled mode without XLA, jit stays on: Keras' jit_compile=False would run
              the step op by op)
    xla       float32, jit_compile=True
    mixed     mixed_bfloat16 on CPU, mixed_float16 on a GPU (the head and loss stay float32),
              with recdsl's `jit_compile: auto` (XLA on a GPU and under JAX, off on CPU)

Each model is built fresh (seeded), compiled exactly as `recdsl train` compiles it
(recdsl.training.compilation.compile_model: Adam, binary cross-entropy, AUC + logloss metrics; the
reference gets the same compile call), and fed random but valid inputs generated once as
numpy (ids within each table's rows, never the padding row; sequences of random length
1..max_len, padded with 0 at the end; aligned sequences of one length share lengths),
converted to backend tensors before timing so only the step is timed:

    training    model.train_on_batch(x, y) (forward, backward, Adam update, metrics),
    inference   model.predict_on_batch(x),

each after two untimed warm-up calls (the first traces and compiles; their time is the
"first call" column), then --steps timed calls cycling over --pool distinct batches;
samples/s = batch / (wall time per call), the median of --repeats repeats. Both calls
return numpy, so every step is synchronised (no asynchronous dispatch hides work). A
repeat that has run --repeat-seconds (default 5 s; 0 = off) stops after at least 3 calls
and the table marks the rate with "† N" (N calls timed): on 2 CPU cores an XLA step at
batch 4096 takes ~1.5 s, and 3 x 30 of them would take most of the time budget. On a GPU
the cap never binds.

The reference is built for every spec whose structure it implements (the MovieLens DIN
example; others say n/a), and its trainable parameter count must equal recdsl's (+-1%).
The ratio columns are recdsl / reference (> 1: recdsl is faster).

After the table, for the slowest configuration (lowest recdsl training samples/s), a
paragraph on where the time goes: the step alone (train_on_batch on prepared tensors) vs
producing the batches alone (numpy gather; Keras' own array adapter, i.e. what model.fit
feeds from numpy: tf.data under TensorFlow) vs model.fit on the numpy arrays (input and
step together: the median time between consecutive batch ends, so the per-fit setup is
separated out).

Flags that change what is compared: --loss-only (no AUC/logloss metrics in either model),
--no-reference, --no-breakdown. Under KERAS_BACKEND=jax or torch nothing imports
TensorFlow at module level; the models, mixed precision and jit_compile are Keras'.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # reference_din

DEFAULT_SPECS = ("specs/din.rec", "examples/movielens/din.rec")
CONFIGS = ("float32", "xla", "mixed")
WARMUP_CALLS = 2
MIN_STEPS = 3


# ---------------------------------------------------------------------------- machine

def backend_info():
    """(backend name, its version, accelerator description or None)."""
    import keras

    backend = keras.backend.backend()
    version, gpu = "?", None
    if backend == "tensorflow":
        import tensorflow as tf

        version = tf.__version__
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            gpu = f"{len(gpus)} x {details.get('device_name', 'GPU')}"
    elif backend == "jax":
        import jax

        version = jax.__version__
        devices = [d for d in jax.devices() if d.platform != "cpu"]
        if devices:
            gpu = f"{len(devices)} x {devices[0].device_kind}"
    elif backend == "torch":
        import torch

        version = torch.__version__
        if torch.cuda.is_available():
            gpu = f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return backend, version, gpu


def machine_line() -> str:
    import keras

    backend, version, gpu = backend_info()
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    return (f"machine: {platform.machine()} {platform.processor() or ''}".rstrip()
            + f", {usable} usable CPU cores ({cpus} online), accelerator: {gpu or 'none'}; "
            f"Python {platform.python_version()}, Keras {keras.__version__}, backend {backend} {version}, "
            f"numpy {np.__version__}")


def settings(config: str, backend: str, gpu) -> tuple[str, bool]:
    """(dtype policy, jit_compile) of a configuration on this backend and machine."""
    import keras

    from recdsl.training.compilation import use_xla

    if config == "float32":
        return "float32", backend == "jax"   # JAX has no compiled mode without XLA
    if config == "xla":
        return "float32", True
    if config == "mixed":
        return ("mixed_float16" if gpu else "mixed_bfloat16"), use_xla("auto", keras)
    raise ValueError(config)


# ---------------------------------------------------------------------------- data

def table_rows(spec) -> dict:
    """Model input name -> (kind, rows or size, max_len)."""
    from recdsl.ops.rows import RESERVED_ROWS

    own = {}
    for n in spec.nodes:
        if n.kind == "feature" and n.share_kind is None and n.op in ("id", "category"):
            own[n.name] = n.params // n.arg("dim")
        elif n.kind == "feature" and n.op == "multi":
            own[n.name] = n.params // n.arg("of")["dim"]
    out = {}
    for n in spec.nodes:
        if n.kind != "feature":
            continue
        if n.op == "numeric":
            if n.arg("boundaries") is not None:
                out[n.name] = ("ids", len(n.arg("boundaries")) + 1 + RESERVED_ROWS, None)
            else:
                out[n.name] = ("float", n.arg("size"), None)
        elif n.op in ("multi", "sequence"):
            rows = own[n.name] if n.share_kind is None else own[n.shares]
            out[n.name] = ("list", rows, n.arg("max_len"))
        else:
            out[n.name] = ("ids", own[n.shares] if n.share_kind == "table" else own[n.name], None)
    return out


def random_data(spec, rows: int, rng: np.random.Generator):
    """Valid random model inputs and labels: ids in 2..rows-1 (never padding; 1 = OOV is
    allowed by the model but not drawn), lists of random length 1..max_len padded with 0 at
    the end (lists of one max_len share lengths, so aligned sequences stay aligned)."""
    from recdsl.data.schema import schema_of

    x, lengths = {}, {}
    for name, (kind, size, max_len) in table_rows(spec).items():
        if kind == "float":
            x[name] = rng.standard_normal((rows, size)).astype("float32")
        elif kind == "ids":
            x[name] = rng.integers(2, size, rows).astype("int32")
        else:
            if max_len not in lengths:
                lengths[max_len] = rng.integers(1, max_len + 1, rows)
            ids = rng.integers(2, size, (rows, max_len)).astype("int32")
            ids[np.arange(max_len)[None, :] >= lengths[max_len][:, None]] = 0
            x[name] = ids
    y = {}
    for lab in schema_of(spec).labels:
        if lab.loss == "binary":
            y[lab.output] = (rng.random((rows, 1)) < 0.3).astype("float32")
        else:
            y[lab.output] = rng.standard_normal((rows, 1)).astype("float32")
    return x, y


def take(arrays: dict, start: int, stop: int) -> dict:
    return {k: v[start:stop] for k, v in arrays.items()}


def to_tensors(batch: dict) -> dict:
    import keras

    return {k: keras.ops.convert_to_tensor(v) for k, v in batch.items()}


# ---------------------------------------------------------------------------- models

def compile_like_recdsl(model, spec, jit: bool, loss_only: bool) -> None:
    import keras

    from recdsl.data.schema import schema_of
    from recdsl.training.compilation import compile_model
    from recdsl.training.config import RunConfig

    if not loss_only:
        compile_model(model, schema_of(spec).labels, RunConfig(), keras, jit)
        return
    losses = {lab.output: (keras.losses.BinaryCrossentropy() if lab.loss == "binary"
                           else keras.losses.MeanSquaredError()) for lab in schema_of(spec).labels}
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=RunConfig().learning_rate), loss=losses,
                  jit_compile=jit)


def build(kind: str, spec, ref_cfg, policy: str, jit: bool, seed: int, loss_only: bool):
    """A fresh, compiled recdsl model (kind "recdsl") or hand-written reference ("reference")."""
    import keras

    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy(policy)
    try:
        if kind == "recdsl":
            from recdsl.emitter import emit

            model = emit(spec)
        else:
            from reference_din import build_reference

            model = build_reference(ref_cfg)
        compile_like_recdsl(model, spec, jit, loss_only)
    finally:
        keras.config.set_dtype_policy("float32")
    return model


def trainable_params(model) -> int:
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


# ---------------------------------------------------------------------------- timing

@dataclass
class Timing:
    train: float | None = None      # samples/s
    infer: float | None = None
    first: float = 0.0              # seconds of the first train + predict call (trace, compile)
    step_s: float | None = None     # median seconds of one training step
    train_steps: int = 0            # fewest steps a timed repeat ran (capped by --repeat-seconds)
    infer_steps: int = 0
    error: str | None = None


def timed(fn, batches, steps: int, repeats: int, cap: float) -> tuple[float, int]:
    """Median wall seconds per call over `repeats` repeats of `steps` calls of fn (batches
    cycled); a repeat stops early once it has run `cap` seconds (cap 0: never), after at
    least MIN_STEPS calls. Also returns the fewest calls a repeat timed."""
    per_call, fewest = [], steps
    for _ in range(repeats):
        start = time.perf_counter()
        done = 0
        while done < steps:
            fn(batches[done % len(batches)])
            done += 1
            if cap and done >= MIN_STEPS and time.perf_counter() - start > cap:
                break
        per_call.append((time.perf_counter() - start) / done)
        fewest = min(fewest, done)
    return statistics.median(per_call), fewest


def measure(model, xs: list, ys: list, batch: int, args) -> Timing:
    pairs = list(zip(xs, ys))
    t = Timing()
    start = time.perf_counter()
    for i in range(WARMUP_CALLS):
        model.train_on_batch(*pairs[i % len(pairs)])
    t.first += time.perf_counter() - start
    t.step_s, t.train_steps = timed(lambda p: model.train_on_batch(p[0], p[1]), pairs, args.steps, args.repeats,
                                    args.repeat_seconds)
    t.train = batch / t.step_s
    start = time.perf_counter()
    for i in range(WARMUP_CALLS):
        model.predict_on_batch(xs[i % len(xs)])
    t.first += time.perf_counter() - start
    seconds, t.infer_steps = timed(model.predict_on_batch, xs, args.steps, args.repeats, args.repeat_seconds)
    t.infer = batch / seconds
    return t


# ---------------------------------------------------------------------------- breakdown

def batches_alone(x: dict, y: dict, batch: int, steps: int, backend: str):
    """Seconds per batch of a numpy gather of shuffled rows and of Keras' array adapter (after
    its first batch), the adapter's seconds to its first batch, and its description."""
    rows = len(next(iter(x.values())))
    order = np.random.default_rng(0).permutation(rows)
    start = time.perf_counter()
    for i in range(steps):
        idx = np.sort(order[i * batch:(i + 1) * batch])
        take_x = {k: v[idx] for k, v in x.items()}
        take_y = {k: v[idx] for k, v in y.items()}
    del take_x, take_y
    numpy_s = (time.perf_counter() - start) / steps

    from keras.src.trainers.data_adapters import get_data_adapter

    adapter = get_data_adapter(x, y, batch_size=batch, steps_per_epoch=steps, shuffle=True)
    if backend == "tensorflow":
        source, what = adapter.get_tf_dataset(), "tf.data from Keras' array adapter"
    elif backend == "jax":
        source, what = adapter.get_jax_iterator(), "Keras' array adapter (JAX iterator)"
    elif backend == "torch":
        source, what = adapter.get_torch_dataloader(), "Keras' array adapter (torch DataLoader)"
    else:
        source, what = adapter.get_numpy_iterator(), "Keras' array adapter (numpy iterator)"
    start = time.perf_counter()
    n, first = 0, None
    for _ in source:
        n += 1
        if n == 1:
            first = time.perf_counter()
        if n == steps:
            break
    end = time.perf_counter()
    per_batch = (end - first) / (n - 1) if n > 1 else end - start
    return numpy_s, per_batch, first - start, what


def fit_step_seconds(model, x, y, batch: int, steps: int, cap: float) -> tuple[float, float, int]:
    """One model.fit over `steps` batches of the numpy arrays: the median seconds between
    consecutive batch ends (input + step, steady state), the seconds from the call to the
    first batch's start (iterator setup) and the steps run (stopped early after `cap` s)."""
    import keras

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begin, self.ends = None, []

        def on_train_batch_begin(self, batch, logs=None):
            if self.begin is None:
                self.begin = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())
            if cap and len(self.ends) > MIN_STEPS and self.ends[-1] - self.ends[0] > cap:
                self.model.stop_training = True

    clock = Clock()
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=steps, shuffle=True, verbose=0, callbacks=[clock])
    gaps = np.diff(clock.ends)
    return float(np.median(gaps)) if len(gaps) else float("nan"), clock.begin - start, len(clock.ends)


def breakdown(slow, args, backend: str) -> str:
    spec, batch, config, model, timing = slow.spec, slow.batch, slow.config, slow.model, slow.timing
    steps = max(args.steps, MIN_STEPS + 2)
    x, y = random_data(spec, batch * steps, np.random.default_rng(args.seed + 1))
    numpy_s, adapter_s, adapter_start, what = batches_alone(x, y, batch, steps, backend)
    model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=2, shuffle=True, verbose=0)  # traces fit's step
    per_step, setup, ran = fit_step_seconds(model, x, y, batch, steps, args.repeat_seconds)
    step = timing.step_s
    ms = lambda s: f"{s * 1e3:.2f} ms"  # noqa: E731
    pct = lambda s: f"{100 * s / step:.0f}%"  # noqa: E731
    over = per_step - step
    if over >= 0:
        diff = f"{ms(over)} = {pct(over)} more than the bare step"
    else:
        diff = (f"{ms(-over)} = {pct(-over)} less than the bare step: train_on_batch also resets the "
                "metrics and pulls its logs to numpy on every call, fit does not wait for them")
    if adapter_s < 0.25 * step and over < 0.25 * step:
        verdict = ("the step itself (forward, backward, optimizer update, metrics) takes nearly all of it; "
                   "feeding batches from numpy is not the bottleneck")
    else:
        verdict = (f"input handling is a visible share: feeding from numpy costs up to "
                   f"{pct(max(adapter_s, over))} of the bare step")
    return (f"Where the time goes in the slowest configuration ({slow.name}, batch {batch:,}, {config}; "
            f"{timing.train:,.0f} training samples/s): one training step alone (train_on_batch on prepared "
            f"tensors) takes {ms(step)}. Producing one batch alone takes {ms(numpy_s)} as a numpy gather of "
            f"shuffled rows ({pct(numpy_s)} of the step) and {ms(adapter_s)} through {what} ({pct(adapter_s)}; "
            f"{adapter_start:.2f} s to its first batch). model.fit on the same numpy arrays (input and step "
            f"together) takes {ms(per_step)} per step (median over {ran} steps; {diff}) after {setup:.2f} s of "
            f"setup per fit call. So {verdict}.")


# ---------------------------------------------------------------------------- main

@dataclass
class Slowest:
    name: str
    spec: object
    batch: int
    config: str
    model: object
    timing: Timing


@dataclass
class Row:
    spec: str
    batch: int
    config: str
    policy: str
    jit: bool
    params: tuple = ()
    mine: Timing = field(default_factory=Timing)
    ref: Timing | None = None


def short_error(exc: Exception) -> str:
    """The first lines of an error's text on one line (Keras puts the cause on the third)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return " ".join(lines[:2])[:300]


def fmt_rate(v, steps: int = 0, wanted: int = 0) -> str:
    """A rate; with a dagger and the steps timed when a repeat was cut short by --repeat-seconds."""
    if v is None:
        return "error"
    return f"{v:,.0f}" + (f" † {steps}" if steps and wanted and steps < wanted else "")


def ratio(a: Timing, b: Timing | None, key: str) -> str:
    if b is None:
        return "n/a"
    va, vb = getattr(a, key), getattr(b, key)
    return f"{va / vb:.2f}" if va and vb else "error"


def table(rows: list[Row], steps: int) -> str:
    lines = ["| spec | batch | config | jit | trainable params recdsl / ref | train samples/s recdsl | ref | "
             "recdsl / ref | infer samples/s recdsl | ref | recdsl / ref | first call s recdsl / ref |",
             "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        ref = r.ref
        params = f"{r.params[0]:,} / {r.params[1]:,}" if r.params[1] is not None else f"{r.params[0]:,} / n/a"
        first = f"{r.mine.first:.1f} / {ref.first:.1f}" if ref is not None else f"{r.mine.first:.1f} / n/a"
        lines.append(
            f"| {r.spec} | {r.batch:,} | {r.config} ({r.policy}) | {'on' if r.jit else 'off'} | {params} | "
            f"{fmt_rate(r.mine.train, r.mine.train_steps, steps)} | "
            f"{fmt_rate(ref.train, ref.train_steps, steps) if ref else 'n/a'} | {ratio(r.mine, ref, 'train')} | "
            f"{fmt_rate(r.mine.infer, r.mine.infer_steps, steps)} | "
            f"{fmt_rate(ref.infer, ref.infer_steps, steps) if ref else 'n/a'} | {ratio(r.mine, ref, 'infer')} | "
            f"{first} |")
    return "\n".join(lines)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--specs", nargs="+", default=list(DEFAULT_SPECS), help="spec files (default: %(default)s)")
    ap.add_argument("--batch-sizes", nargs="+", type=int, default=[1024, 4096], help="default: %(default)s")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS, help="default: %(default)s")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per repeat (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed repeats; the median is reported (default: %(default)s)")
    ap.add_argument("--repeat-seconds", type=float, default=5.0,
                    help="stop a timed repeat after this many seconds (at least 3 steps; 0 = never), "
                         "so slow cells do not dominate the run (default: %(default)s)")
    ap.add_argument("--pool", type=int, default=8, help="distinct batches cycled through (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=2024, help="seed of the data and of every model (default: %(default)s)")
    ap.add_argument("--loss-only", action="store_true",
                    help="compile both models without recdsl's AUC/logloss metrics")
    ap.add_argument("--no-reference", action="store_true", help="skip the hand-written reference")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the input-vs-step paragraph")
    args = ap.parse_args(argv)
    if min(args.batch_sizes) < 1 or args.steps < 1 or args.repeats < 1 or args.pool < 1:
        ap.error("--batch-sizes, --steps, --repeats and --pool must be positive")
    if args.repeat_seconds < 0:
        ap.error("--repeat-seconds must be >= 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    import recdsl

    backend, _, gpu = backend_info()
    rows: list[Row] = []
    slowest: Slowest | None = None
    notes: list[str] = []
    for path in args.specs:
        spec = recdsl.typecheck(path if Path(path).exists() else ROOT / path)
        ref_cfg = None
        if not args.no_reference:
            from reference_din import Unsupported, config_from_spec

            try:
                ref_cfg = config_from_spec(spec)
            except Unsupported as exc:
                notes.append(f"{path}: no hand-written reference ({exc})")
        rng = np.random.default_rng(args.seed)
        x_all, y_all = random_data(spec, max(args.batch_sizes) * args.pool, rng)
        for batch in args.batch_sizes:
            xs = [to_tensors(take(x_all, i * batch, (i + 1) * batch)) for i in range(args.pool)]
            ys = [to_tensors(take(y_all, i * batch, (i + 1) * batch)) for i in range(args.pool)]
            for config in args.configs:
                policy, jit = settings(config, backend, gpu)
                row = Row(path, batch, config, policy, jit)
                results = {}
                for kind in ("recdsl", "reference") if ref_cfg is not None else ("recdsl",):
                    model = build(kind, spec, ref_cfg, policy, jit, args.seed, args.loss_only)
                    results[kind] = (trainable_params(model), model)
                    try:
                        timing = measure(model, xs, ys, batch, args)
                    except Exception as exc:  # e.g. an op XLA cannot compile: report it, go on
                        timing = Timing(error=f"{type(exc).__name__}: {short_error(exc)}")
                        notes.append(f"{path} batch {batch} {config} {kind}: {timing.error}")
                    if kind == "recdsl":
                        row.mine = timing
                        if timing.train and (slowest is None or timing.train < slowest.timing.train):
                            slowest = Slowest(path, spec, batch, config, model, timing)
                    else:
                        row.ref = timing
                    print(f"  {path} batch {batch} {config} {kind}: train {fmt_rate(timing.train)}/s, "
                          f"infer {fmt_rate(timing.infer)}/s, first calls {timing.first:.1f} s "
                          f"[{time.perf_counter() - started:.0f} s]",
                          file=sys.stderr, flush=True)
                mine_params = results["recdsl"][0]
                ref_params = results["reference"][0] if "reference" in results else None
                if ref_params is not None and abs(mine_params - ref_params) > 0.01 * mine_params:
                    raise AssertionError(f"{path}: trainable parameters differ: recdsl {mine_params:,} vs "
                                         f"hand-written reference {ref_params:,}: not the same architecture")
                row.params = (mine_params, ref_params)
                rows.append(row)
                del results

    print(f"command: python {' '.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:]))}")
    print(machine_line())
    print()
    print(table(rows, args.steps))
    print()
    cap = (f" († N: a repeat reached --repeat-seconds {args.repeat_seconds:g} and timed only N steps)"
           if args.repeat_seconds else "")
    print(f"samples/s: median of {args.repeats} repeats of {args.steps} timed steps{cap} after {WARMUP_CALLS} "
          "warm-up calls; train = train_on_batch, infer = predict_on_batch, on prepared tensors; "
          f"recdsl / ref > 1 means recdsl is faster; first call = the {WARMUP_CALLS} warm-up train + predict "
          "calls (tracing, compiling). Metrics: "
          + ("none (loss only)." if args.loss_only else "AUC + logloss, as `recdsl train` compiles them."))
    for note in notes:
        print(f"note: {note}")
    if slowest is not None and not args.no_breakdown:
        print()
        try:
            print(breakdown(slowest, args, backend))
        except Exception as exc:
            print(f"(breakdown failed: {type(exc).__name__}: {exc})")
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
