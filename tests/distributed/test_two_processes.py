"""Two `recdsl train` processes on 127.0.0.1 (JAX CPU backend, gloo collectives, a free port): data
parallel trains exactly what one process trains on the same global batch, model parallel row-shards
the large table across them with the same loss, and a distributed run killed after an epoch resumes
from its backup. The spec's `item` table has 1,001 rows (over shard_tables_above=500; odd, so model
parallel pads it to 1,002); each run is 3 epochs of one global batch of 256 rows (128 per process
under data parallel)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from recdsl import load_model

from ..training.test_train_cli import click_log

pytest.importorskip("jax")
pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow  # starts seven Python processes that import TensorFlow and JAX

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("one_process.py")
SPEC = """model tiny "a tiny DIN with one table over the sharding threshold"
feature item : id(buckets=999, dim=4)
feature cat  : category(vocab=["a", "b"], dim=4)
feature hist : sequence(of=item, max_len=5)
pool interest = din(query=[item], keys=[hist], units=[8])
output click = sigmoid(mlp([item, cat, interest], units=[8]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**more) -> dict:
    return {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **more}


def run_processes(data: Path, out: Path, setting: str, count: int, *more, **environ) -> list:
    """Start `count` processes of one run; [(exit code, stderr, JSON result or None)] in process order.
    Their output goes to files: a full pipe would stall a process that the other one waits for."""
    port, logs = free_port(), out.parent / f"{out.name}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs = []
    for i in range(count):
        with open(logs / f"{i}.out", "w") as stdout, open(logs / f"{i}.err", "w") as stderr:
            procs.append(subprocess.Popen([sys.executable, str(SCRIPT), str(data), str(out), setting, str(count),
                                           str(i), str(port), *more], stdout=stdout, stderr=stderr,
                                          env=env(**environ)))
    found = []
    for i, p in enumerate(procs):
        p.wait(timeout=600)
        lines = (logs / f"{i}.out").read_text().strip().splitlines()
        found.append((p.returncode, (logs / f"{i}.err").read_text()[-3000:],
                      json.loads(lines[-1]) if p.returncode == 0 else None))
    return found


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("distributed")
    (base / "tiny.rec").write_text(SPEC)
    pq.write_table(click_log(256, 1), base / "train.parquet")
    pq.write_table(click_log(101, 2), base / "valid.parquet")
    return base


@pytest.fixture(scope="module")
def single(data, tmp_path_factory) -> dict:
    ((code, err, found),) = run_processes(data, tmp_path_factory.mktemp("single") / "run", "none", 1)
    assert code == 0, err
    return found


@pytest.fixture(scope="module")
def data_parallel(data, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("data") / "run"
    found = run_processes(data, out, "data", 2)
    for code, err, _ in found:
        assert code == 0, err
    return out, [f for _, _, f in found]


def test_data_parallel_trains_what_one_process_trains(single, data_parallel):
    out, (first, second) = data_parallel
    np.testing.assert_allclose(first["loss"], single["loss"], atol=1e-5)
    assert first["loss"] == second["loss"]
    for a, b, ref in zip(first["weights"], second["weights"], single["weights"]):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, ref, atol=1e-5)
    assert first["table_shards"] == [[1001, 4]]  # replicated: every process holds the whole table


def test_only_process_0_writes_the_run_folder(data_parallel):
    out, (first, second) = data_parallel
    assert first["run_dir"] == str(out) and second["run_dir"] != str(out)
    assert not Path(second["run_dir"]).exists()  # its scratch folder is gone
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished" and info["config"]["distribution"] == "data"
    assert len(json.loads((out / "history.json").read_text())["loss"]) == 3
    assert (out / "model.keras").is_file() and (out / "metrics.json").is_file()


def test_model_parallel_row_shards_the_large_table(data, data_parallel, tmp_path):
    found = run_processes(data, tmp_path / "run", "model", 2)
    for code, err, _ in found:
        assert code == 0, err
    _, (reference, _) = data_parallel
    for result in (f for _, _, f in found):
        assert result["table_shards"] == [[501, 4]]  # this process's half of the rows, padded to 1,002
        assert result["table_spec"] == ["model", None]
        np.testing.assert_allclose(result["loss"], reference["loss"], atol=1e-5)
    saved = load_model(tmp_path / "run" / "model.keras")  # the real rows alone, as a one-device run saves
    assert tuple(saved.get_layer("item-embed").embeddings.shape) == (1001, 4)


def test_a_killed_distributed_run_resumes_from_its_last_backup(data, data_parallel, tmp_path):
    out = tmp_path / "run"
    killed = run_processes(data, out, "data", 2, RECDSL_TEST_KILL_AFTER_EPOCHS="1")
    # process 0 is killed after backing up epoch 1; process 1 kills itself there too, or JAX's
    # coordination service aborts it when it sees process 0 gone
    assert killed[0][0] == -9 and killed[1][0] in (-9, -6)
    assert json.loads((out / "backup" / "state.json").read_text())["epochs"] == 1
    resumed = run_processes(data, out, "data", 2, "--resume")
    for code, err, _ in resumed:
        assert code == 0, err
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished" and info["resumed_after_epochs"] == [1]
    _, (uninterrupted, _) = data_parallel
    for _, _, result in resumed:
        assert len(result["loss"]) == 3
        np.testing.assert_allclose(result["loss"], uninterrupted["loss"], atol=1e-5)
        for a, b in zip(result["weights"], uninterrupted["weights"]):
            np.testing.assert_allclose(a, b, atol=1e-5)
