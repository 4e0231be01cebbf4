"""`recdsl train SPEC` without --train uses the synthetic click log, which only fits specs over
its columns: any other spec gets a usage error naming the missing columns, and nothing is written."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

from ..cli_call import call  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_a_spec_over_other_columns_is_refused(tmp_path):
    out = tmp_path / "run"
    code, stdout, err = call(["train", ROOT / "specs" / "dcn.rec", "-o", out])
    assert code == 2
    assert err.startswith("recdsl: error: no --train data given, and the synthetic click log has no column 'hour'")
    assert "hint: pass --train/--valid files" in err and "hist_items" in err
    assert not out.exists()


def test_valid_without_train_is_a_usage_error(tmp_path):
    code, _, err = call(["train", ROOT / "specs" / "din.rec", "--valid", tmp_path / "v.parquet", "-o", tmp_path / "r"])
    assert code == 2 and "--valid/--test need --train" in err
