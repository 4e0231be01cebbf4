"""Which ops lose under XLA on CPU: training ms/step of small specs with and without
jit_compile, under TensorFlow on CPU (the basis of `jit_compile: auto`'s per-op rule,
OpSpec.xla_on_cpu and recdsl.training.compilation.use_xla).

    python bench/xla_ops.py                       # every spec below, batch 256, ~3-5 min on 2 cores
    python bench/xla_ops.py --specs din transformer --steps 10

Every spec has small tables (a few thousand rows, under XLA_CPU_TABLE_LIMIT), so only the ops
differ: XLA's dense update of a large table is the table-size rule, measured by
bench/throughput.py. Each model is built fresh (seeded), compiled as `recdsl train` compiles it
(bench/throughput.py: compile_like_recdsl) and trained with train_on_batch on random valid inputs
prepared as tensors; two untimed calls first (trace and compile), then the median of --repeats
repeats of --steps calls. Prints a table: spec, the ops it contains, ms/step without and with XLA,
and the ratio (> 1: XLA is slower).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # the CPU rule
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

HEAD = """feature user_id   : id(buckets=2_000, dim=16)
feature item_id   : id(buckets=5_000, dim=16)
feature item_cate : category(size=50, dim=16)
feature hist      : sequence(of=item_id, max_len=30)
"""
TAIL = "output ctr = sigmoid(mlp([user_id, item_id, item_cate, interest], units=[64, 32]))\n"
SPECS = {
    "mlp": "pool interest = avg(hist)\n",
    "din": "pool interest = din(query=[item_id], keys=[hist], units=[32, 16])\n",
    "attention": "pool interest = attention(query=item_id, keys=hist, score=scaled_dot, transform=true)\n",
    "self_attention": "block s = self_attention(hist, heads=2, head_dim=8)\npool interest = avg(s)\n",
    "self_attention_std": "block s = self_attention(hist, style=standard, heads=4)\npool interest = avg(s)\n",
    "cross_attention": "block interest = cross_attention(query=item_id, keys=hist, heads=4)\n",
    "transformer": "block t = transformer(hist, heads=4, layers=1)\npool interest = avg(t)\n",
    "transformer_dropout": "block t = transformer(hist, heads=4, layers=1, dropout=0.1)\npool interest = avg(t)\n",
    "din_mlp_dropout": "pool pooled = din(query=[item_id], keys=[hist], units=[32, 16])\n"
                       "block interest = mlp([pooled], units=[256, 128], dropout=0.1)\n",

}


def spec_of(name: str):
    import recdsl

    return recdsl.check(f"model {name}\n{HEAD}{SPECS[name]}{TAIL}")


def ms_per_step(spec, jit: bool, batch: int, steps: int, repeats: int) -> float:
    import keras
    from throughput import compile_like_recdsl, random_data, to_tensors

    from recdsl.emitter import emit

    keras.utils.set_random_seed(7)
    model = emit(spec)
    compile_like_recdsl(model, spec, jit, loss_only=False)
    x, y = random_data(spec, batch * 4, np.random.default_rng(7))
    pairs = [(to_tensors({k: v[i * batch:(i + 1) * batch] for k, v in x.items()}),
              to_tensors({k: v[i * batch:(i + 1) * batch] for k, v in y.items()})) for i in range(4)]
    for i in range(2):
        model.train_on_batch(*pairs[i])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            model.train_on_batch(*pairs[i % 4])
        times.append((time.perf_counter() - start) / steps)
    return 1000 * statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=list(SPECS), choices=list(SPECS))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import keras

    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}, CPU, {os.cpu_count()} cores; "
          f"batch {args.batch}, median of {args.repeats} x {args.steps} steps\n")
    print("| spec | ops | ms/step without XLA | ms/step with XLA | XLA / without |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name in args.specs:
        spec = spec_of(name)
        ops = ", ".join(sorted({n.op for n in spec.nodes if n.kind != "feature"}))
        off = ms_per_step(spec, False, args.batch, args.steps, args.repeats)
        on = ms_per_step(spec, True, args.batch, args.steps, args.repeats)
        print(f"| {name} | {ops} | {off:.1f} | {on:.1f} | {on / off:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
