"""bench/scale.py end to end at a toy size: the click log written as several Parquet files, one
streamed epoch through `recdsl train`, the input path alone, and the table of what it measured
(its numbers are recorded by hand in docs/performance.md, never asserted)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

COLUMNS = ["rows", "files", "write s (RSS MiB)", "fit preprocessing s", "input path rows/s (rows timed)",
           "input peak RSS MiB", "train samples/s", "train wall s", "train peak RSS MiB", "vocabulary sizes"]


def test_scale_table_at_20000_rows(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"), "--rows", "20000", "--rows-per-file",
                           "6000", "--work", str(tmp_path / "w"), "--keep"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ") and not line.startswith("| -")]
    assert len(lines) == 2, done.stdout
    header, row = ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    assert header == COLUMNS
    cells = dict(zip(header, row))
    assert cells["rows"] == "20,000" and cells["files"] == "4"
    assert cells["input path rows/s (rows timed)"].endswith("(20,000)")
    assert float(cells["train samples/s"].replace(",", "")) > 0
    assert "user_id" in cells["vocabulary sizes"] and "item_id" in cells["vocabulary sizes"]
    files = sorted((tmp_path / "w" / "data").glob("*.parquet"))
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [6000, 6000, 6000, 2000]
    assert (tmp_path / "w" / "run" / "model.keras").is_file()
