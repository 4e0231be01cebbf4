"""The benchmark scripts run end to end at toy sizes and print their tables (their numbers
are measured by hand, never asserted: see docs/performance.md)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MOVIELENS = ROOT.parent / "shared" / "datasets" / "ml-100k"

pytestmark = pytest.mark.slow


def bench(script: str, *args: str, timeout: int = 600) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_throughput_table_with_the_reference():
    out = bench("throughput.py", "--specs", "specs/din.rec", "examples/movielens/din.rec", "--batch-sizes", "64",
                "--configs", "float32", "--steps", "2", "--repeats", "1", "--pool", "2", "--no-breakdown")
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(rows) == 4, out                     # header + 2 specs (+ separator starts with "| -")
    movielens = next(line for line in rows if "movielens" in line)
    assert "n/a" not in movielens                  # the hand-written reference ran beside it


def test_input_table():
    out = bench("input.py", "--rows", "3000", "--batch-size", "256", "--steps", "2", "--repeats", "1",
                "--no-movielens")
    assert "rows/s" in out and out.count("\n| ") >= 3, out


@pytest.mark.skipif(not MOVIELENS.is_dir(), reason=f"MovieLens-100K not at {MOVIELENS}")
def test_movielens_table_one_epoch(tmp_path):
    out = bench("movielens.py", "--models", "mlp", "--seeds", "1", "--epochs", "1", "--json", str(tmp_path / "r.json"))
    assert "| mlp |" in out, out
    assert 0.5 < float(out.split("| mlp |")[1].split("|")[0]) < 1.0
