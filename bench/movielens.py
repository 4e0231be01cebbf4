"""MovieLens-100K CTR benchmark: the recdsl DIN, avg-pooling and MLP specs, two seeds each.

    python bench/movielens.py                       # prepares ../shared/datasets/ml-100k into a temp folder
    python bench/movielens.py --data DIR            # a folder written by examples/movielens/prepare.py
    python bench/movielens.py --deepctr PYTHON      # also run ../shared/peers/run_deepctr.py (DIN, WDL)
                                                    # with that interpreter (the peers' venv), same machine

Protocol (the peers' reference protocol): batch 1024, dim 16, DNN 256-128-64, DIN attention 80-40
with Dice, Adam 1e-3, at most 5 epochs, early stop (patience 2) on validation AUC with the best
weights restored. Samples/s = training rows / median epoch time of epochs 2..N (training steps
only). Prints one markdown table, rows `din`, `avg`, `mlp` (mean of the seeds), then per-seed rows.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MODELS = ("din", "avg", "mlp")


def prepare(src: Path, out: Path) -> Path:
    subprocess.run([sys.executable, str(ROOT / "examples" / "movielens" / "prepare.py"), str(src), "-o", str(out),
                    "--force", "-q"], check=True)
    return out


def run_recdsl(model: str, data: Path, seed: int, work: Path, epochs: int) -> dict:
    from recdsl.training.config import load_config
    from recdsl.training.fit import train

    config = load_config(ROOT / "examples" / "movielens" / "run.yaml", {"seed": seed, "epochs": epochs})
    result = train(ROOT / "examples" / "movielens" / f"{model}.rec", data / "train.parquet", data / "valid.parquet",
                   data / "test.parquet", work / f"{model}-{seed}", config=config, force=True, verbose=0, log=None)
    test = result.metrics["test"]["ctr"]
    return {"model": model, "seed": seed, "auc": test["auc"], "logloss": test["logloss"],
            "samples_per_sec": result.timing["samples_per_sec"], "epochs": result.timing["epochs"],
            "best_epoch": result.timing["best_epoch"]}


def run_deepctr(python: str, model: str, seed: int, data: Path, epochs: int) -> dict:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", PEERS_WORK=str(data.parent.parent))  # reads PEERS_WORK/data/ml100k_din
    script = SHARED / "peers" / "run_deepctr.py"
    out = subprocess.run([python, str(script), "--model", model, "--seed", str(seed), "--epochs", str(epochs),
                          "--out", str(data.parent.parent / "deepctr.jsonl")], env=env, capture_output=True, text=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"DeepCTR {model} failed:\n{out.stderr[-2000:]}")
    res = json.loads(line[7:])
    return {"model": f"deepctr-{model}", "seed": seed, "auc": res["test_auc"], "logloss": res["test_logloss"],
            "samples_per_sec": res["steady_samples_per_s"], "epochs": res["epochs_run"],
            "best_epoch": res["best_epoch"]}


def table(rows: list[dict]) -> str:
    lines = ["| model | test AUC | test logloss | train samples/s | epochs (best) |",
             "| --- | ---: | ---: | ---: | --- |"]
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        epochs = ", ".join(f"{r['epochs']} ({r['best_epoch']})" for r in mine)
        lines.append(f"| {name} | {statistics.mean(r['auc'] for r in mine):.4f} | "
                     f"{statistics.mean(r['logloss'] for r in mine):.4f} | "
                     f"{statistics.mean(r['samples_per_sec'] for r in mine):,.0f} | {epochs} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="prepared folder (train/valid/test.parquet)")
    ap.add_argument("--src", type=Path, default=SHARED / "datasets" / "ml-100k", help="raw MovieLens-100K folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[2024, 2025])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--deepctr", metavar="PYTHON", help="interpreter of the DeepCTR venv (../shared/peers)")
    ap.add_argument("--json", type=Path, help="also write the per-seed rows here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="recdsl-ml-"))
    data = args.data or prepare(args.src, work / "data" / "ml100k_din")
    rows = []
    started = time.perf_counter()
    for model in args.models:
        for seed in args.seeds:
            rows.append(run_recdsl(model, data, seed, work / "runs", args.epochs))
            print(f"  {model} seed {seed}: AUC {rows[-1]['auc']:.4f}, {rows[-1]['samples_per_sec']:,.0f} samples/s",
                  file=sys.stderr, flush=True)
    if args.deepctr:
        peer_data = data
        if peer_data.name != "ml100k_din" or peer_data.parent.name != "data":
            peer_data = prepare(args.src, work / "data" / "ml100k_din")
        for model in ("din", "wdl"):
            for seed in args.seeds:
                rows.append(run_deepctr(args.deepctr, model, seed, peer_data, args.epochs))
                print(f"  deepctr-{model} seed {seed}: AUC {rows[-1]['auc']:.4f}", file=sys.stderr, flush=True)
    print(table(rows))
    print(f"\n{len(rows)} runs in {time.perf_counter() - started:.0f} s; data {data}; seeds {args.seeds}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
