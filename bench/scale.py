"""Data beyond memory: a synthetic click log of N rows, trained one epoch streamed, with the
peak memory of each step.

    python bench/scale.py                          # 10,000,000 rows in a temporary folder
    python bench/scale.py --rows 1000000 --work /tmp/scale-1m --keep
    python bench/scale.py --rows 20000             # a quick look (what CI runs)

Steps, each but the first in its own process, so each peak RSS is that process's alone
(os.wait4's ru_maxrss of the child):
  write     the click log as Parquet files of --rows-per-file rows (row groups of 65,536),
            written chunk by chunk in this process (never N rows at once): user and item ids
            drawn from bounded Zipf laws (exponent 1.05) over N/4 users and N/5 items, so
            10M rows hold 1M+ distinct users and items; histories of 0-50 items (their
            categories aligned), a device string, a price and an hour, a click label of a
            planted logistic model. Reused when --work already holds the same log.
  train     `recdsl train` with cache_mb: 0 (streamed, no cache), one epoch: fits the
            preprocessing (vocabularies of max_tokens=100,000 users and items, learned
            with bounded memory: recdsl.data.frequent) and trains; the fit time is
            run.json's data_seconds, the samples/s its steady training throughput.
  input     the input path alone: the run's preprocessing.json, Split.dataset(batch) (tf.data:
            generator -> parallel map(preprocess) -> shuffle buffer -> batch) read to the end,
            over every file or, with --input-rows R, the first files holding R rows.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ZIPF_EXPONENT = 1.05
MAX_HISTORY = 50
CATEGORIES = 1_000
ROW_GROUP = 65_536
DEVICES = np.array(["ios", "android", "web", "tv"], dtype=object)

SPEC = """\
# bench/scale.py's synthetic click log: ids beyond memory-sized vocabularies, streamed.
model scale_ctr "A click log of N rows for bench/scale.py"

feature user_id    : category(max_tokens=100_000, dim=8)
feature item_id    : category(max_tokens=100_000, dim=8)
feature item_cate  : category(max_tokens=1_000, dim=8)
feature device     : category(vocab=["ios", "android", "web", "tv"], dim=8)
feature price      : numeric(normalize=log)
feature hour       : numeric(boundaries=[6, 12, 18], dim=8)
feature hist_items : sequence(of=item_id, max_len=50)
feature hist_cates : sequence(of=item_cate, max_len=50)

pool items = avg(hist_items)
pool cates = avg(hist_cates)

block deep = mlp([user_id, item_id, item_cate, device, hour, items, cates, price], units=[64, 32])

output ctr = sigmoid(deep, label="clicked")
"""

RUN_CONFIG = "epochs: 1\nbatch_size: {batch}\ncache_mb: 0\nshuffle_buffer: {buffer}\nbackup_every_seconds: 0\n"


# ---------------------------------------------------------------------------- the click log

class BoundedZipf:
    """Ranks 1..n with P(r) proportional to r^-s, drawn by inverse CDF (n floats of memory)."""

    def __init__(self, n: int, s: float = ZIPF_EXPONENT):
        weights = np.arange(1, n + 1, dtype="float64") ** -s
        self.cdf = np.cumsum(weights / weights.sum())

    def draw(self, rng, size) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(size)), len(self.cdf) - 1).astype("int64") + 1


def item_category(items: np.ndarray) -> np.ndarray:
    return (items * 2_654_435_761) % CATEGORIES


def click_log_chunk(rng, users: BoundedZipf, items: BoundedZipf, rows: int):
    """One pyarrow table of `rows` rows of the click log."""
    import pyarrow as pa

    user = users.draw(rng, rows)
    item = items.draw(rng, rows)
    lengths = rng.integers(0, MAX_HISTORY + 1, rows)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype("int32")
    history = items.draw(rng, int(offsets[-1]))
    cate, hist_cate = item_category(item), item_category(history)
    last = np.where(lengths > 0, hist_cate[np.maximum(offsets[1:] - 1, 0)], -1)
    hour = rng.integers(0, 24, rows).astype("float32")
    price = rng.lognormal(3.0, 1.0, rows).astype("float32")
    logit = (-1.2 + 1.5 * (cate == last) + 0.6 * (item <= 1_000) - 0.3 * np.log10(price)
             + 0.4 * ((hour >= 18) | (hour < 6)) + 0.5 * (user % 7 == 0))
    clicked = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype("int8")
    return pa.table({
        "user_id": user, "item_id": item, "item_cate": cate,
        "device": pa.array(DEVICES[rng.integers(0, len(DEVICES), rows)], pa.string()),
        "price": price, "hour": hour,
        "hist_items": pa.ListArray.from_arrays(pa.array(offsets), pa.array(history)),
        "hist_cates": pa.ListArray.from_arrays(pa.array(offsets), pa.array(hist_cate)),
        "clicked": clicked,
    })


def write_click_log(folder: Path, rows: int, rows_per_file: int, seed: int) -> list[Path]:
    """The click log as Parquet files of `rows_per_file` rows, written a row group at a time."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    users, items = BoundedZipf(max(rows // 4, 10)), BoundedZipf(max(rows // 5, 10))
    paths, done = [], 0
    while done < rows:
        path = folder / f"part-{len(paths):05d}.parquet"
        in_file = min(rows_per_file, rows - done)
        writer = None
        for start in range(0, in_file, ROW_GROUP):
            table = click_log_chunk(rng, users, items, min(ROW_GROUP, in_file - start))
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=ROW_GROUP)
        writer.close()
        paths.append(path)
        done += in_file
    return paths


def prepared_log(work: Path, rows: int, rows_per_file: int, seed: int) -> tuple[list[Path], float]:
    """The log's files (written now, or reused when `work` holds the same log) and the seconds taken."""
    folder, stamp = work / "data", work / "data.json"
    key = {"rows": rows, "rows_per_file": rows_per_file, "seed": seed, "exponent": ZIPF_EXPONENT}
    if stamp.is_file() and json.loads(stamp.read_text()) == key:
        return sorted(folder.glob("*.parquet")), 0.0
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    paths = write_click_log(folder, rows, rows_per_file, seed)
    stamp.write_text(json.dumps(key))
    return paths, time.perf_counter() - start


# ---------------------------------------------------------------------------- the steps

INPUT_PATH = """
import json, sys, time
from recdsl.data.pipeline import Split
from recdsl.data.preprocess import Preprocessor
pre = Preprocessor.load(sys.argv[1])
split = Split("train", sys.argv[2].split(","), pre)
start, rows = time.perf_counter(), 0
for _, labels in split.dataset(int(sys.argv[3]), int(sys.argv[4]), seed=1):
    rows += int(next(iter(labels.values())).shape[0])
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}))
"""


def child(command: list[str], log: Path) -> tuple[int, float, float]:
    """Run `command` with output to `log`: (exit code, wall seconds, peak RSS in MiB of that child alone)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - start, usage.ru_maxrss / 1024


def _rows_in(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def run_steps(work: Path, paths: list[Path], batch: int, buffer: int, input_rows: int = 0) -> dict:
    spec, config, run = work / "scale.rec", work / "run.yaml", work / "run"
    spec.write_text(SPEC)
    config.write_text(RUN_CONFIG.format(batch=batch, buffer=buffer))
    code, train_s, train_rss = child([sys.executable, "-m", "recdsl", "train", str(spec), "--train",
                                      str(work / "data"), "--config", str(config), "-o", str(run), "--force",
                                      "-q", "--progress-every", "60"], work / "train.log")
    if code != 0:
        raise SystemExit(f"recdsl train failed ({code}):\n{(work / 'train.log').read_text()[-3000:]}")
    info = json.loads((run / "run.json").read_text())
    timed = paths if not input_rows else paths[:max(1, -(-input_rows // max(1, _rows_in(paths[0]))))]
    code, input_s, input_rss = child([sys.executable, "-c", INPUT_PATH, str(run / "preprocessing.json"),
                                      ",".join(map(str, timed)), str(batch), str(buffer)], work / "input.log")
    if code != 0:
        raise SystemExit(f"the input path failed ({code}):\n{(work / 'input.log').read_text()[-3000:]}")
    read = json.loads((work / "input.log").read_text().strip().splitlines()[-1])
    return {"info": info, "train_s": train_s, "train_rss": train_rss, "input": read, "input_rss": input_rss,
            "input_files": len(timed), "run": str(run)}


def table(rows: int, files: int, write_s: float, self_rss: float, found: dict) -> str:
    info, read = found["info"], found["input"]
    timing, trained = info["timing"], info["data"]["train"]["rows"]
    tables = json.loads((Path(found["run"]) / "preprocessing.json").read_text())["tables"]
    vocab = ", ".join(f"{k} {v:,} of {'≥' if 'undercount' in tables[k] else ''}{tables[k]['seen']:,} seen"
                      for k, v in sorted(info["vocabulary_sizes"].items()))
    header = ["rows", "files", "write s (RSS MiB)", "fit preprocessing s", "input path rows/s (rows timed)",
              "input peak RSS MiB", "train samples/s", "train wall s", "train peak RSS MiB", "vocabulary sizes"]
    cells = [f"{rows:,}", f"{files}", f"{write_s:.0f} ({self_rss:,.0f})" if write_s else f"reused ({self_rss:,.0f})",
             f"{timing['data_seconds']:.1f}", f"{read['rows'] / read['seconds']:,.0f} ({read['rows']:,})",
             f"{found['input_rss']:,.0f}",
             f"{timing['samples_per_sec']:,.0f}" if timing.get("samples_per_sec") else "—",
             f"{found['train_s']:.0f}", f"{found['train_rss']:,.0f}", vocab]
    assert trained in (0, rows) and read["rows"] == (rows if found["input_files"] == files else read["rows"]), found
    return "\n".join(["| " + " | ".join(header) + " |", "|" + " --- |" * len(header), "| " + " | ".join(cells) + " |"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rows-per-file", type=int, default=250_000)
    parser.add_argument("--work", type=Path, help="folder for the log and the run (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep --work (or the temporary folder) afterwards")
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--shuffle-buffer", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--input-rows", type=int, default=0,
                        help="time the input path alone on the first files holding this many rows (0: all)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="recdsl-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        paths, write_s = prepared_log(work, args.rows, args.rows_per_file, args.seed)
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{args.rows:,} rows in {len(paths)} files under {work / 'data'}", flush=True)
        found = run_steps(work, paths, args.batch_size, args.shuffle_buffer, args.input_rows)
        print(table(args.rows, len(paths), write_s, self_rss, found))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
