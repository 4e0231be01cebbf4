"""bench/lsp.py runs end to end on one spec and prints its table (its numbers are not asserted)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.lsp.conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_lsp_bench_prints_a_row_per_spec_with_the_reference():
    done = subprocess.run([sys.executable, "bench/lsp.py", "--repeat", "2", "specs/din.rec", "specs/bst.rec"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| specs/")]
    assert [row.split(" | ")[0] for row in rows] == ["| specs/din.rec", "| specs/bst.rec"]
    assert all(len(row.split(" | ")) == 7 and " / " in row.split(" | ")[1] for row in rows)
    assert "slowest p95:" in done.stdout
