"""The model zoo on MovieLens-100k: every specs/zoo spec trained with recdsl, DeepCTR 0.9.4's
implementation of the same model trained beside it in the same run (issue 15's benchmark).

    python bench/zoo.py                                  # every spec, seeds 2024 2025, DeepCTR beside each
    python bench/zoo.py --models deepfm dcn --seeds 2024 --epochs 1 --no-deepctr
    python bench/zoo.py --out results.jsonl              # append each run's result; a rerun skips what it holds
    python bench/zoo.py --out results.jsonl --table-only # print the table from the results file

The specs: specs/zoo/*.rec, and examples/movielens/din.rec as `din` (specs/zoo/din.rec wins when
there is one). The data: --data DIR, a folder written by examples/movielens/prepare.py (made from
--src, the raw MovieLens-100k, when DIR has no train.parquet). recdsl runs `recdsl train` with the
examples' protocol (examples/movielens/run.yaml: Adam 1e-3, batch 1024, at most 5 epochs, early
stop on validation AUC with patience 2, best weights restored); DeepCTR runs bench/deepctr_zoo.py
in the DeepCTR venv (--deepctr-python; ../shared/peers/install_venv_deepctr.sh makes it) with the
same protocol, with its linear (wide) logit only where the spec has a linear part. Each model's
runs are interleaved (recdsl, then DeepCTR, per seed; --side-by-side: both at once, so on a
shared machine both see the same load), one process per run.

Samples/s = training rows / median training seconds of epochs 2..N (validation and the first
epoch's tracing/compilation excluded), on both sides. Per model, the table shows the mean of the
seeds and, in brackets, half the spread (max - min) of recdsl's test AUC over the seeds; a multi-task
model has one row per output (the outputs both sides have).
Speed ratio = recdsl samples/s / DeepCTR samples/s.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the recdsl of this checkout

SHARED = ROOT.parent / "shared"
RUN_CONFIG = ROOT / "examples" / "movielens" / "run.yaml"
DEFAULT_VENV_PYTHON = ROOT.parent / "peers-work" / "venv-deepctr" / "bin" / "python"
#: zoo model -> the spec outside specs/zoo that plays it (used while specs/zoo has none)
EXTRA_SPECS = {"din": ROOT / "examples" / "movielens" / "din.rec"}
#: the zoo models bench/deepctr_zoo.py has a DeepCTR implementation for (its MODELS)
DEEPCTR_MODELS = ("lr", "fm", "fwfm", "wide_deep", "deepfm", "nfm", "afm", "ipnn", "opnn", "dcn", "dcn_v2",
                  "dcn_mix", "xdeepfm", "autoint", "fibinet", "din", "dien", "bst", "shared_bottom", "esmm",
                  "mmoe", "ple")


class BenchError(Exception):
    """A run that could not be made or read (printed as one line; the bench goes on)."""


def zoo_specs() -> dict[str, Path]:
    """{model: spec path}, specs/zoo in name order, then the extras specs/zoo lacks."""
    specs = {p.stem: p for p in sorted((ROOT / "specs" / "zoo").glob("*.rec"))}
    specs.update({m: p for m, p in EXTRA_SPECS.items() if m not in specs and p.is_file()})
    return specs


def has_linear_part(spec: Path) -> bool:
    """Whether the spec has a linear (wide) part: a `linear` name or op outside comments."""
    code = "\n".join(line.split("#", 1)[0] for line in spec.read_text().splitlines())
    return re.search(r"\blinear\b", code) is not None


def prepared(data: Path, src: Path) -> Path:
    if not (data / "train.parquet").is_file():
        subprocess.run([sys.executable, str(ROOT / "examples" / "movielens" / "prepare.py"), str(src), "-o",
                        str(data), "--force", "-q"], check=True)
    return data


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def run_recdsl(model: str, spec: Path, data: Path, seed: int, epochs: int, work: Path) -> dict:
    """`recdsl train` in a fresh process; its metrics.json and run.json, as one result."""
    import recdsl

    run_dir = work / f"{model}-{seed}"
    splits = [a for s in ("train", "valid", "test") for a in (f"--{s}", str(data / f"{s}.parquet"))]
    done = subprocess.run([sys.executable, "-m", "recdsl", "train", str(spec), *splits, "-o", str(run_dir),
                           "--config", str(RUN_CONFIG), "--seed", str(seed), "--epochs", str(epochs), "--force",
                           "-q", "--progress-every", "0"], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if done.returncode != 0 or not (run_dir / "metrics.json").is_file():
        raise BenchError(f"recdsl {model} seed {seed} failed: {_last_line(done.stderr or done.stdout)}")
    metrics = json.loads((run_dir / "metrics.json").read_text())["test"]
    timing = json.loads((run_dir / "run.json").read_text())["timing"]
    return {"impl": "recdsl", "model": model, "seed": seed, "max_epochs": epochs,
            "test": {out: {"auc": m["auc"], "logloss": m["logloss"]} for out, m in metrics.items() if "auc" in m},
            "params": recdsl.check(spec).total_params, "samples_per_sec": timing["samples_per_sec"],
            "epochs": timing["epochs"], "best_epoch": timing["best_epoch"], "spec": str(spec.relative_to(ROOT))}


def run_deepctr(python: str, model: str, data: Path, seed: int, epochs: int, linear: bool) -> dict:
    """bench/deepctr_zoo.py in the DeepCTR venv; its RESULT line."""
    command = [python, str(ROOT / "bench" / "deepctr_zoo.py"), model, "--data", str(data), "--seed", str(seed),
               "--epochs", str(epochs)] + ([] if linear else ["--no-linear"])
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise BenchError(f"DeepCTR {model} seed {seed} failed: {_last_line(done.stderr)}")
    return dict(json.loads(line[len("RESULT "):]), impl="deepctr", max_epochs=epochs)


def read_results(path: Path | None) -> list[dict]:
    if path is None or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _keys(results: list[dict]) -> set[tuple]:
    return {(r["impl"], r["model"], r["seed"], r.get("max_epochs")) for r in results}


def _paired_outputs(mine: dict, theirs: dict) -> list[tuple[str, str | None]]:
    """(recdsl output, DeepCTR output or None): the only one of each, else those both have (ESMM's
    served-only pCVR has no DeepCTR twin), else recdsl's alone."""
    if len(mine) == 1 and len(theirs) == 1:
        return [(next(iter(mine)), next(iter(theirs)))]
    shared = [(out, out) for out in mine if out in theirs]
    return shared or [(out, None) for out in mine]


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def _fmt(value, pattern: str) -> str:
    return "—" if value is None else format(value, pattern)


def table(results: list[dict]) -> str:
    """One markdown table: a row per model output, the mean of its seeds on each side."""
    head = ["model", "params", "AUC (spread)", "logloss", "samples/s", "DeepCTR params", "DeepCTR AUC",
            "DeepCTR logloss", "DeepCTR samples/s", "speed ratio"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    first: dict = {}
    for r in results:  # a run made twice (two bench processes) counts once
        first.setdefault((r["impl"], r["model"], r["seed"]), r)
    results = list(first.values())
    for model in dict.fromkeys(r["model"] for r in results if r["impl"] == "recdsl"):
        mine = [r for r in results if r["model"] == model and r["impl"] == "recdsl"]
        theirs = [r for r in results if r["model"] == model and r["impl"] == "deepctr"]
        pairs = _paired_outputs(mine[0]["test"], theirs[0]["test"] if theirs else {})
        sps, their_sps = _mean(r["samples_per_sec"] for r in mine), _mean(r["samples_per_sec"] for r in theirs)
        for out, their_out in pairs:
            aucs = [r["test"][out]["auc"] for r in mine if out in r["test"]]
            name = model if len(pairs) == 1 else f"{model} ({out})"
            spread = f" (±{(max(aucs) - min(aucs)) / 2:.4f})" if len(aucs) > 1 else ""
            their = [r["test"][their_out] for r in theirs if their_out in r["test"]] if their_out else []
            ratio = sps / their_sps if sps and their_sps else None
            lines.append(f"| {name} | {mine[0]['params']:,} | {statistics.mean(aucs):.4f}{spread} | "
                         f"{_mean(r['test'][out]['logloss'] for r in mine if out in r['test']):.4f} | {sps:,.0f} | "
                         f"{_fmt(theirs[0]['params'] if theirs else None, ',')} | "
                         f"{_fmt(_mean(t['auc'] for t in their), '.4f')} | "
                         f"{_fmt(_mean(t['logloss'] for t in their), '.4f')} | {_fmt(their_sps, ',.0f')} | "
                         f"{_fmt(ratio, '.2f')} |")
    return "\n".join(lines)


def _run_jobs(jobs: dict, side_by_side: bool) -> list:
    """Each job's result (or its BenchError), in order; side_by_side runs them at the same time."""
    def attempt(job):
        try:
            return job()
        except BenchError as error:
            return error

    if not side_by_side or len(jobs) < 2:
        return [attempt(job) for job in jobs.values()]
    with ThreadPoolExecutor(len(jobs)) as pool:  # each job is a child process: threads only wait
        return list(pool.map(attempt, jobs.values()))


def _say(result: dict) -> None:
    scores = ", ".join(f"{out} AUC {m['auc']:.4f}" for out, m in result["test"].items())
    print(f"  {result['impl']:8} {result['model']} seed {result['seed']}: {scores}, "
          f"{result['samples_per_sec']:,.0f} samples/s, {result['epochs']} epochs", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", help="zoo models (spec names; default: all)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[2024, 2025])
    ap.add_argument("--epochs", type=int, default=5, help="at most this many epochs (early stopping may stop sooner)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "peers-work" / "data" / "ml100k",
                    help="a folder written by examples/movielens/prepare.py (made when missing)")
    ap.add_argument("--src", type=Path, default=SHARED / "datasets" / "ml-100k", help="raw MovieLens-100k")
    ap.add_argument("--no-deepctr", action="store_true", help="recdsl only")
    ap.add_argument("--deepctr-python", default=str(DEFAULT_VENV_PYTHON), help="the DeepCTR venv's interpreter")
    ap.add_argument("--side-by-side", action="store_true",
                    help="run recdsl and DeepCTR at the same time (both see the same machine load)")
    ap.add_argument("--out", type=Path, help="append each result here (JSON lines); runs it holds are skipped")
    ap.add_argument("--work", type=Path, default=ROOT.parent / "peers-work" / "zoo-runs", help="run folders")
    ap.add_argument("--table-only", action="store_true", help="print the table from --out and stop")
    args = ap.parse_args(argv)

    results = read_results(args.out)
    if args.table_only:
        if not results:
            ap.error("--table-only needs --out with results")
        print(table([r for r in results if r.get("max_epochs") == args.epochs]))
        return 0
    specs = zoo_specs()
    unknown = sorted(set(args.models or ()) - set(specs))
    if unknown:
        ap.error(f"no zoo spec for {', '.join(unknown)} (specs: {', '.join(specs)})")
    models = args.models or list(specs)
    data = prepared(args.data, args.src)
    done = _keys(results)
    started, failures = time.perf_counter(), []
    for model in models:
        for seed in args.seeds:
            jobs = {"recdsl": lambda: run_recdsl(model, specs[model], data, seed, args.epochs, args.work)}
            if not args.no_deepctr and model in DEEPCTR_MODELS:
                jobs["deepctr"] = lambda: run_deepctr(args.deepctr_python, model, data, seed, args.epochs,
                                                      has_linear_part(specs[model]))
            done |= _keys(read_results(args.out))  # another bench process may share --out
            todo = {impl: job for impl, job in jobs.items() if (impl, model, seed, args.epochs) not in done}
            for outcome in _run_jobs(todo, args.side_by_side):
                if isinstance(outcome, BenchError):
                    failures.append(str(outcome))
                    print(f"  {outcome}", file=sys.stderr, flush=True)
                    continue
                _say(outcome)
                results.append(outcome)
                if args.out:
                    with args.out.open("a") as f:
                        f.write(json.dumps(outcome) + "\n")
    chosen = [r for r in results if r["model"] in models and r["seed"] in args.seeds
              and r.get("max_epochs") == args.epochs]
    print(table(chosen))
    print(f"\n{len(chosen)} runs ({time.perf_counter() - started:.0f} s this time); data {data}; seeds "
          f"{args.seeds}; at most {args.epochs} epochs; load average {os.getloadavg()[0]:.1f}")
    for failure in failures:
        print(f"failed: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
