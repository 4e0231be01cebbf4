"""Runs that go wrong: a loss that diverges, a disk that fills up mid-run, two runs into one folder,
and scoring under JAX's data parallelism with rows that do not divide among the devices."""
from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from recdsl.training import atomic
from recdsl.training.metrics import auc

from ..cli_call import call
from .test_train_cli import SPEC, click_log

pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.slow,  # each trains a tiny model (~5-20 s)
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("faults")
    (base / "tiny.rec").write_text(SPEC)
    pq.write_table(click_log(300, 1), base / "train.parquet")
    pq.write_table(click_log(101, 2), base / "valid.parquet")
    return base


def argv(data: Path, out: Path, *more) -> list:
    return ["train", data / "tiny.rec", "--train", data / "train.parquet", "--valid", data / "valid.parquet",
            "-o", out, "--epochs", "2", "--batch-size", "64", "--lr", "0.01", "--jit", "off", "-q", *more]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_a_diverging_run_stops_and_says_where(data, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = call(argv(data, out, "--optimizer", "sgd", "--lr", "1e30"))
    assert code == 1, err
    # 300 rows at batch 64: 5 steps an epoch, all 5 in one compiled call (steps_per_execution auto)
    m = re.match(r"recdsl: error: the training loss became (nan|inf) at epoch 1, one of steps 1-(5)\n  hint: lower the "
                 r"learning rate \(--lr\)", err)
    assert m, err
    assert not (out / "model.keras").exists()  # the diverged model is not presented as the result
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and info["failed_at"] == {"epoch": 1, "step": int(m.group(2))}
    assert info["error"].startswith("the training loss became")
    assert json.loads((out / "history.json").read_text()) == {}  # no epoch completed
    report = (out / "report.md").read_text()
    assert f"> **This run failed:** the training loss became {m.group(1)} at epoch 1" in report
    assert not (out / "backup").exists() and not (out / ".lock").exists()
    code, _, err = call(["evaluate", out, "--data", data / "valid.parquet"])
    assert code == 1 and "is not a finished run: its run.json says 'failed'" in err


def complete(path: Path) -> bool:
    """Whether a run file is whole (what a half-written one is not)."""
    data = path.read_bytes()
    if path.suffix == ".json":
        return json.loads(data) is not None
    if path.suffix == ".png":
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    if path.suffix == ".keras":
        return zipfile.is_zipfile(path) and zipfile.ZipFile(path).testzip() is None
    if path.suffix == ".h5":
        return data.startswith(b"\x89HDF")
    if path.suffix == ".svg":
        return data.rstrip().endswith(b"</svg>")
    return data.endswith(b"\n")  # .csv, .md, .rec


@pytest.mark.parametrize("fails", ["history.csv", "model.keras"])
def test_a_full_disk_leaves_no_half_file_and_the_run_resumes(data, tmp_path, monkeypatch, fails):
    """The disk fills up while `fails` is written (the 2nd time for history.csv: after epoch 2)."""
    out, seen = tmp_path / "run", []
    finish = atomic._finish

    def disk_full_once(tmp: Path):
        if tmp.name.endswith(f"-{fails}"):
            seen.append(tmp)
            if len(seen) == (2 if fails == "history.csv" else 1):
                with open(tmp, "r+b") as f:
                    f.truncate(f.seek(0, 2) // 2)
                raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        finish(tmp)

    monkeypatch.setattr(atomic, "_finish", disk_full_once)
    code, _, err = call(argv(data, out))
    assert code == 1
    assert err.startswith(f"recdsl: error: could not write the run folder: No space left on device: {seen[-1]}\n"
                          "  hint: make room")
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    files = [p for p in out.rglob("*") if p.is_file() and "logs" not in p.parts]
    assert not [p for p in files if p.name.startswith(atomic.TMP_PREFIX)]
    assert all(complete(p) for p in files), files
    assert not (out / "model.keras").exists()
    if fails == "history.csv":  # stopped after the backup of epoch 2: the history files agree with it
        assert len(json.loads((out / "history.json").read_text())["loss"]) == 2
        assert len((out / "history.csv").read_text().splitlines()) == 3

    monkeypatch.setattr(atomic, "_finish", finish)  # space was made
    code, _, err = call(argv(data, out, "--resume"))
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    assert len(json.loads((out / "history.json").read_text())["loss"]) == 2
    assert len((out / "history.csv").read_text().splitlines()) == 3


def test_two_forced_runs_into_one_folder(data, tmp_path):
    """Started together: one trains, the other is refused and names it; the folder is one whole run."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "recdsl.cli"] + [str(a) for a in argv(data, out, "--force")]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
            for _ in range(2)]
    results = [(r.wait(timeout=300), r.stderr.read(), r) for r in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], [err[-1500:] for _, err, _ in results]
    (winner,) = [r for code, _, r in results if code == 0]
    (refused,) = [err for code, err, _ in results if code == 1]
    assert re.search(rf"recdsl: error: run folder {re.escape(repr(str(out)))} is in use by another run "
                     rf"\(pid {winner.pid} on .+ since .+\)", refused), refused
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished" and info["timing"]["epochs"] == 2
    assert len((out / "history.csv").read_text().splitlines()) == 3
    assert not (out / ".lock").exists()


JAX_SCRIPT = """
import json, sys
import keras
import recdsl
from recdsl.training.scoring import batch_shards

data, out = sys.argv[1], sys.argv[2]
run = recdsl.train(f"{data}/tiny.rec", train=f"{data}/train.parquet", valid=f"{data}/valid.parquet", out=out,
                   epochs=1, batch_size=64, verbose=0)
recdsl.predict(out, f"{data}/valid.parquet", f"{out}/scores.csv")
print(json.dumps({"backend": keras.backend.backend(), "shards": batch_shards(), "metrics": run.metrics}))
"""


def test_jax_data_parallel_scores_any_number_of_rows(data, tmp_path):
    """2 CPU devices (Keras' DataParallel, set by recdsl): training batches of 64 rows and a last one of
    300 - 4 x 64 = 44, validation and prediction of 101 rows, which do not divide by 2."""
    pytest.importorskip("jax")
    out = tmp_path / "run"
    script = tmp_path / "jax_run.py"
    script.write_text(JAX_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(data), str(out)], capture_output=True, text=True,
                          timeout=300, env={**env(), "KERAS_BACKEND": "jax",
                                            "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert (found["backend"], found["shards"]) == ("jax", 2)
    scores = [float(v) for v in (out / "scores.csv").read_text().splitlines()[1:]]
    assert len(scores) == 101
    labels = pq.read_table(data / "valid.parquet").column("click").to_numpy()
    assert auc(labels, scores) == pytest.approx(found["metrics"]["valid"]["click"]["auc"], abs=1e-6)


def test_sigterm_while_scoring_leaves_an_interrupted_run_that_resumes(data, tmp_path, monkeypatch):
    """SIGTERM outside model.fit (here: while scoring the validation split) stops the run with exit
    code 143 and run.json `interrupted`, not `running`; --resume then finishes it without training."""
    import signal

    from recdsl.training import fit as fit_module

    out, scored = tmp_path / "run", fit_module.split_metrics

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return scored(*args, **kwargs)

    monkeypatch.setattr(fit_module, "split_metrics", terminated)
    code, _, err = call(argv(data, out))
    assert code == 143, err
    assert err.startswith("recdsl: error: the run was stopped by SIGTERM outside training\n"
                          "  hint: `recdsl train` with the same arguments and --resume continues it"), err
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler did not outlive the run
    assert not (out / "model.keras").exists() and not (out / ".lock").exists()

    monkeypatch.setattr(fit_module, "split_metrics", scored)
    code, stdout, err = call(argv(data, out, "--resume"))
    assert code == 0, err
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished" and len(json.loads((out / "history.json").read_text())["loss"]) == 2
