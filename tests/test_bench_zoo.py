"""bench/zoo.py: its table from known results, the spec discovery, and one real recdsl run at
toy size (1 model, 1 epoch, no DeepCTR); with the DeepCTR venv present, one DeepCTR run beside it."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import recdsl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import zoo  # noqa: E402

MOVIELENS = ROOT.parent / "shared" / "datasets" / "ml-100k"


def result(impl, model, seed, test, sps, params=1000):
    return {"impl": impl, "model": model, "seed": seed, "max_epochs": 5, "test": test, "samples_per_sec": sps,
            "params": params, "epochs": 5, "best_epoch": 4}


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_table_means_seeds_and_gives_the_spread_and_the_speed_ratio():
    results = [
        result("recdsl", "deepfm", 1, {"ctr": {"auc": 0.79, "logloss": 0.56}}, 30000, 161732),
        result("deepctr", "deepfm", 1, {"label": {"auc": 0.78, "logloss": 0.57}}, 10000, 161700),
        result("recdsl", "deepfm", 2, {"ctr": {"auc": 0.80, "logloss": 0.54}}, 50000, 161732),
        result("deepctr", "deepfm", 2, {"label": {"auc": 0.79, "logloss": 0.55}}, 30000, 161700),
    ]
    lines = zoo.table(results).splitlines()
    assert len(lines) == 3
    assert cells(lines[2]) == ["deepfm", "161,732", "0.7950 (±0.0050)", "0.5500", "40,000", "161,700", "0.7850",
                               "0.5600", "20,000", "2.00"]


def test_table_has_a_row_per_output_and_dashes_without_deepctr():
    results = [
        result("recdsl", "mmoe", 1, {"liked": {"auc": 0.7, "logloss": 0.6}, "loved": {"auc": 0.8, "logloss": 0.4}},
               9000),
        result("deepctr", "mmoe", 1, {"liked": {"auc": 0.6, "logloss": 0.7}, "loved": {"auc": 0.9, "logloss": 0.3}},
               3000),
        result("recdsl", "gdcn", 1, {"ctr": {"auc": 0.75, "logloss": 0.5}}, 1234),
    ]
    rows = [cells(line) for line in zoo.table(results).splitlines()[2:]]
    assert [r[0] for r in rows] == ["mmoe (liked)", "mmoe (loved)", "gdcn"]
    assert rows[0][2] == "0.7000" and rows[0][6] == "0.6000" and rows[0][9] == "3.00"
    assert rows[1][2] == "0.8000" and rows[1][6] == "0.9000"
    assert rows[2][5:] == ["—"] * 5


def test_specs_and_their_linear_parts():
    specs = zoo.zoo_specs()
    assert {"lr", "deepfm", "dcn", "mmoe", "din"} <= set(specs)
    assert zoo.has_linear_part(specs["deepfm"]) and zoo.has_linear_part(specs["lr"])
    assert not zoo.has_linear_part(specs["dcn"]) and not zoo.has_linear_part(specs["ipnn"])


def test_deepctr_model_list_is_the_runners():
    tree = ast.parse((ROOT / "bench" / "deepctr_zoo.py").read_text())
    names = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
             if isinstance(t, ast.Name)}
    values = {k: ast.literal_eval(v) for k, v in names.items() if k in ("SEQUENCE", "MULTI_TASK")}
    listed = eval(compile(ast.Expression(names["MODELS"]), "deepctr_zoo.py", "eval"), {}, values)
    assert listed == zoo.DEEPCTR_MODELS


@pytest.mark.slow
@pytest.mark.skipif(not MOVIELENS.is_dir(), reason=f"MovieLens-100K not at {MOVIELENS}")
def test_one_model_one_epoch_end_to_end(tmp_path):
    deepctr = Path(zoo.DEFAULT_VENV_PYTHON).is_file()
    out = tmp_path / "results.jsonl"
    args = ["--models", "lr", "--seeds", "7", "--epochs", "1", "--data", str(tmp_path / "ml100k"), "--out", str(out),
            "--work", str(tmp_path / "runs")] + ([] if deepctr else ["--no-deepctr"])
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "zoo.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    row = cells(next(line for line in done.stdout.splitlines() if line.startswith("| lr ")))
    assert 0.5 < float(row[2]) < 1.0 and float(row[4].replace(",", "")) > 0
    saved = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["impl"] for r in saved] == ["recdsl", "deepctr"][:1 + deepctr]
    assert saved[0]["params"] == recdsl.check(ROOT / "specs" / "zoo" / "lr.rec").total_params  # = the built model's
    assert saved[0]["epochs"] == 1 and saved[0]["test"]["ctr"]["logloss"] > 0
    if deepctr:
        assert 0.5 < float(row[6]) < 1.0
    again = subprocess.run([sys.executable, str(ROOT / "bench" / "zoo.py"), *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0 and len(out.read_text().splitlines()) == len(saved)  # resumed: nothing rerun
    table = subprocess.run([sys.executable, str(ROOT / "bench" / "zoo.py"), "--out", str(out), "--epochs", "1",
                            "--table-only"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert table.stdout.splitlines()[2] == done.stdout.splitlines()[2]
