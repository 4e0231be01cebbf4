"""Rows/s of recdsl's input path alone (Parquet -> preprocessed batches), next to the training
step's rows/s for the same spec, to show whether training would wait on its input.

    python bench/input.py                      # 200,000 synthetic rows + MovieLens-100K if present
    python bench/input.py --rows 20000         # a quick look
    python bench/input.py --no-movielens --batch-size 4096

Data sets:
  synthetic   the demo's click log (recdsl.demo.clicklog.write_click_log, --rows training rows,
              --seed) written into a temporary folder, with specs/din.rec;
  movielens   ../shared/datasets/ml-100k (--movielens DIR) prepared by
              examples/movielens/prepare.py into a temporary folder (train.parquet, ~80k rows),
              with examples/movielens/din.rec; skipped when the folder does not exist.

Paths timed on the training file (wall time, rows/s = training rows / seconds):
  fit preprocessing    Preprocessor.fit over the file (vocabularies, statistics): once per run
  stream               Split.dataset(batch_size) iterated to the end in Python (generator ->
                       parallel map(preprocess) -> unbatch -> shuffle buffer -> batch ->
                       prefetch): the streamed path, paid every epoch
  cache: load          Split.load(): read, check and preprocess every chunk into numpy arrays,
                       once per run
  cache: feed          the cached arrays batched by Keras' own array adapter with shuffling
                       (what model.fit(x=arrays) iterates; tf.data under TensorFlow), to the
                       end: the cached path's per-epoch input cost
  cache: stream        Split.training_dataset, what `recdsl train` feeds fit from cached
                       data: one endless tf.data stream of shuffled epochs, read one epoch's
                       batches at a time; with --length-buckets also bucketed (run setting
                       length_buckets: rows sorted by history length into batches, sequences
                       cut per batch)
  (every-epoch paths are iterated twice, as two epochs of fit; the table shows the second
  pass and, apart, what the first pass took more: building and tracing the pipeline, and in
  the process's first pipeline TensorFlow's own start)
  train step           model.train_on_batch on batches of the cached arrays (prepared as tensors;
                       the model compiled as `recdsl train` compiles it: default run settings,
                       jit_compile auto, float32), --steps timed steps after 2 warm-up calls,
                       median of --repeats

input / step = input rows/s / step rows/s: above 1 the input keeps up with training (for the
one-time paths it says how many epochs' worth of steps one pass costs, inverted).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
MOVIELENS = ROOT.parent / "shared" / "datasets" / "ml-100k"
WARMUP_CALLS = 2


def machine_line() -> str:
    import tensorflow as tf  # the input pipeline is TensorFlow's whatever the backend
    from throughput import machine_line as step_machine_line

    return f"{step_machine_line()}, TensorFlow {tf.__version__} (tf.data)"


def clock(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


# ---------------------------------------------------------------------------- paths

def passes(make, epochs: int = 2, batches: int | None = None) -> tuple[int, float, float]:
    """Build an iterable with make() and read `epochs` passes from it, as fit does over epochs:
    each to the end, or, for an endless stream, `batches` batches per pass from one iterator.
    (rows of one pass, seconds of the first pass including the build, seconds of the last pass)."""
    start = time.perf_counter()
    data = make()
    stream = iter(data) if batches else None
    times, rows = [], 0
    for _ in range(epochs):
        rows = 0
        for batch in (next(stream) for _ in range(batches)) if stream else data:
            rows += int(next(iter(batch[1].values())).shape[0])
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
    return rows, times[0], times[-1]


def keras_feed(inputs: dict, targets: dict, batch_size: int):
    """Keras' array adapter over the cached arrays (shuffled), as model.fit(x=arrays) uses it:
    (a re-iterable of batches, its description)."""
    import keras
    from keras.src.trainers.data_adapters import get_data_adapter

    adapter = get_data_adapter(inputs, targets, batch_size=batch_size, shuffle=True)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return adapter.get_tf_dataset(), "tf.data"
    if backend == "torch":
        return adapter.get_torch_dataloader(), "torch DataLoader"

    class Again:  # JAX / numpy iterators are one-shot: ask the adapter again each epoch
        def __iter__(self):
            return iter(adapter.get_jax_iterator() if backend == "jax" else adapter.get_numpy_iterator())

    return Again(), "JAX iterator" if backend == "jax" else "numpy iterator"


def step_rate(spec, split, batch_size: int, steps: int, repeats: int, seed: int) -> tuple[float, str]:
    """Training rows/s of train_on_batch on the cached arrays, and the settings used."""
    import keras

    from recdsl.data.schema import schema_of
    from recdsl.emitter import emit
    from recdsl.training.compilation import compile_model, use_xla
    from recdsl.training.config import RunConfig

    config = RunConfig(seed=seed, batch_size=batch_size)
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy(config.precision)
    jit = use_xla(config.jit_compile, keras, spec)
    model = emit(spec)
    compile_model(model, schema_of(spec).labels, config, keras, jit)
    n_batches = max(1, min(steps, split.rows // batch_size))
    if split.rows < batch_size:
        raise SystemExit(f"{split.rows} training rows are fewer than one batch of {batch_size}")
    batches = []
    for i in range(n_batches):
        sl = slice(i * batch_size, (i + 1) * batch_size)
        batches.append(({k: keras.ops.convert_to_tensor(v[sl]) for k, v in split.inputs.items()},
                        {k: keras.ops.convert_to_tensor(v[sl]) for k, v in split.targets.items()}))
    for i in range(WARMUP_CALLS):
        model.train_on_batch(*batches[i % n_batches])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            model.train_on_batch(*batches[i % n_batches])
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return steps * batch_size / seconds, f"{config.precision}, XLA {'on' if jit else 'off'}"


def measure(name: str, spec_path: Path, train: Path, args) -> list[dict]:
    import recdsl
    from recdsl.data import source
    from recdsl.data.errors import FixLog
    from recdsl.data.pipeline import Split
    from recdsl.data.preprocess import Preprocessor
    from recdsl.data.schema import schema_of

    spec = recdsl.typecheck(spec_path)
    schema = schema_of(spec)
    out = []

    def row(path, rows, seconds, once, setup=None):
        out.append({"data": name, "spec": str(spec_path.relative_to(ROOT)), "path": path, "rows": rows,
                    "seconds": seconds, "rate": rows / seconds if seconds else float("nan"), "once": once,
                    "setup": setup})
        print(f"  {name}: {path}: {rows:,} rows in {seconds:.2f} s", file=sys.stderr, flush=True)

    pre, seconds = clock(lambda: Preprocessor.fit(source.read(train, schema, FixLog("train")), schema))
    rows = Split("train", train, pre).row_estimate()
    row("fit preprocessing: Preprocessor.fit (once per run)", rows, seconds, True)

    streamed, first, seconds = passes(lambda: Split("train", train, pre).dataset(
        args.batch_size, shuffle_buffer=args.shuffle_buffer, seed=args.seed))
    row(f"stream: Split.dataset({args.batch_size}) to the end (every epoch; shuffle buffer "
        f"{args.shuffle_buffer:,})", streamed, seconds, False, max(first - seconds, 0.0))

    split, seconds = clock(lambda: Split("train", train, pre).load())
    row("cache: Split.load() (once per run)", split.rows, seconds, True)

    feed = {}

    def make_feed():
        feed["data"], feed["what"] = keras_feed(split.inputs, split.targets, args.batch_size)
        return feed["data"]

    fed, first, seconds = passes(make_feed)
    row(f"cache: feed the arrays, Keras' array adapter ({feed['what']}, shuffled) to the end (every epoch)",
        fed, seconds, False, max(first - seconds, 0.0))

    from recdsl.data.pipeline import bucketed_inputs

    steps = split.batches_per_epoch(args.batch_size)
    for buckets in (0, args.length_buckets) if bucketed_inputs(schema, args.length_buckets) else (0,):
        fed, first, seconds = passes(lambda: split.training_dataset(args.batch_size, buckets, args.seed),
                                     batches=steps)
        row(f"cache: Split.training_dataset({args.batch_size}, length_buckets={buckets}), {steps} batches "
            "(every epoch)", fed, seconds, False, max(first - seconds, 0.0))

    try:
        rate, settings = step_rate(spec, split, args.batch_size, args.steps, args.repeats, args.seed)
    except Exception as exc:  # a model that cannot train here: say so, keep the input rows
        text = " ".join(ln.strip() for ln in str(exc).splitlines() if ln.strip())
        rate, settings = None, f"failed: {type(exc).__name__}: {text[:200]}"
    for r in out:
        r["step"] = rate
    out.append({"data": name, "spec": str(spec_path.relative_to(ROOT)),
                "path": f"train step: train_on_batch({args.batch_size}) on the cached arrays ({settings})",
                "rows": args.steps * args.batch_size,
                "seconds": args.steps * args.batch_size / rate if rate else float("nan"),
                "rate": rate, "step": rate, "once": None, "setup": None})
    print(f"  {name}: train step {rate or float('nan'):,.0f} rows/s {settings}", file=sys.stderr, flush=True)
    return out


def table(rows: list[dict]) -> str:
    lines = ["| data | spec | path | rows | seconds | first-pass extra s | input rows/s | train step rows/s "
             "| input / step |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        step = f"{r['step']:,.0f}" if r["step"] else "error"
        ratio = "—" if r["once"] is None else f"{r['rate'] / r['step']:.2f}" if r["step"] else "n/a"
        rate = "—" if r["once"] is None else f"{r['rate']:,.0f}"
        setup = "—" if r["setup"] is None else f"{r['setup']:.2f}"
        lines.append(f"| {r['data']} | {r['spec']} | {r['path']} | {r['rows']:,} | {r['seconds']:.2f} | {setup} | "
                     f"{rate} | {step} | {ratio} |")
    return "\n".join(lines)


def prepare_movielens(src: Path, out: Path) -> Path:
    subprocess.run([sys.executable, str(ROOT / "examples" / "movielens" / "prepare.py"), str(src), "-o", str(out),
                    "--force", "-q"], check=True)
    return out / "train.parquet"


def parse_args(argv=None):
    from recdsl.training.config import RunConfig

    defaults = RunConfig()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000, help="synthetic training rows (default: %(default)s)")
    ap.add_argument("--batch-size", type=int, default=defaults.batch_size, help="default: %(default)s")
    ap.add_argument("--shuffle-buffer", type=int, default=defaults.shuffle_buffer,
                    help="streamed path's shuffle buffer, as `recdsl train` (default: %(default)s)")
    ap.add_argument("--length-buckets", type=int, default=10,
                    help="also time Split.training_dataset with this length-bucket step, for specs with long sequences "
                         "(0: not; default: %(default)s)")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps per repeat (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of the steps; median (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=2024, help="data and model seed (default: %(default)s)")
    ap.add_argument("--movielens", type=Path, default=MOVIELENS,
                    help="raw MovieLens-100K folder; skipped if missing (default: %(default)s)")
    ap.add_argument("--no-movielens", action="store_true", help="synthetic data only")
    ap.add_argument("--keep", type=Path, help="write the data here instead of a temporary folder (kept)")
    args = ap.parse_args(argv)
    if args.rows < 1 or args.batch_size < 1 or args.steps < 1 or args.repeats < 1 or args.shuffle_buffer < 0:
        ap.error("--rows, --batch-size, --steps and --repeats must be positive; --shuffle-buffer >= 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    from recdsl.demo.clicklog import write_click_log

    with tempfile.TemporaryDirectory(prefix="recdsl-input-") as tmp:
        work = args.keep or Path(tmp)
        small = max(1_000, args.rows // 100)
        paths, seconds = clock(lambda: write_click_log(work / "synthetic", rows_train=args.rows, rows_valid=small,
                                                       rows_test=small, seed=args.seed))
        notes = [f"synthetic log written in {seconds:.1f} s ({args.rows:,} training rows, seed {args.seed})"]
        rows = measure("synthetic", ROOT / "specs" / "din.rec", paths["train"], args)
        if args.no_movielens:
            notes.append("MovieLens skipped (--no-movielens)")
        elif not args.movielens.is_dir():
            notes.append(f"MovieLens skipped: {args.movielens} does not exist")
        else:
            train, seconds = clock(lambda: prepare_movielens(args.movielens, work / "ml100k"))
            notes.append(f"MovieLens-100K prepared in {seconds:.1f} s from {args.movielens}")
            rows += measure("movielens", ROOT / "examples" / "movielens" / "din.rec", train, args)

    print(f"command: python {' '.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:]))}")
    print(machine_line())
    print()
    print(table(rows))
    print()
    print("input / step > 1: that path produces rows faster than training consumes them (for the "
          "once-per-run paths: the cost of one pass in units of one epoch of training steps is its inverse). "
          "Rows/s are wall time on the training file; the train step excludes input. Every-epoch paths: "
          "the second pass over the same pipeline (as a later epoch of fit); first-pass extra = what the "
          "first pass took more (building the pipeline, tracing, in the first one also TensorFlow's start). "
          "The ratio assumes input and step overlap (tf.data runs ahead in its own threads); on a machine "
          "with few cores they share the CPU, so a streamed epoch also costs about step/input of the "
          "training time on top.")
    for note in notes:
        print(f"note: {note}")
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
