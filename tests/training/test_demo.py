"""`recdsl demo` end to end, at its default size (the product's headline check, ~2 minutes on
2 cores): both models train, DIN attention beats avg pooling on the planted interest signal,
the comparison table and the per-model reports are written, and an existing folder is not
replaced without --force."""
from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("keras")
pytest.importorskip("pyarrow")

from recdsl.cli.main import main  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["demo", "-o", str(out), "-q"])
    return code, buf.getvalue(), out


def test_demo_trains_both_models_and_compares_them(demo):
    code, text, out = demo
    assert code == 0
    rows = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\| (din|din_avg) \| ([0-9.]+) \|", text, re.M)}
    assert set(rows) == {"din", "din_avg"}
    assert all(0.5 < auc <= 1.0 for auc in rows.values())
    assert rows["din"] > rows["din_avg"] + 0.02, rows
    assert "din beats din_avg" in text
    for name in ("din", "din_avg"):
        run = out / name
        metrics = json.loads((run / "metrics.json").read_text())
        assert abs(metrics["test"]["ctr"]["auc"] - rows[name]) < 1e-4
        assert (run / "report.md").is_file() and (run / "model.keras").is_file()
    assert "din_avg" in (out / "README.md").read_text()
    # the attention pool of the DIN model is diagnosed; the avg model has none
    assert "## Attention diagnostics" in (out / "din" / "report.md").read_text()


def test_demo_refuses_to_replace_a_folder(demo, capsys):
    _, _, out = demo
    assert main(["demo", "-o", str(out), "--rows", "100"]) == 2  # an existing output
    assert "not empty" in capsys.readouterr().err
