"""What a recdsl command writes to stderr is recdsl's own: TensorFlow's C++ log lines (absl's
pre-InitializeLog notice, oneDNN, CUDA stubs, cuInit errors, CPU feature notices, XLA/MLIR) and
the Python tensorflow/absl loggers stay hidden unless --verbose asks for them or the user set
TF_CPP_MIN_LOG_LEVEL; `recdsl graph | head` ends quietly; `python -m recdsl` is the command.
Real subprocesses, so TensorFlow is imported fresh in each."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow  # each command imports TensorFlow (~5-15 s on 2 cores)

ROOT = Path(__file__).resolve().parent.parent
SPEC = """model tiny
feature item : id(buckets=50, dim=4)
feature cat  : category(vocab=["a", "b"], dim=4)
feature hist : sequence(of=item, max_len=5)
pool interest = din(query=[item], keys=[hist], units=[8])
output click = sigmoid(mlp([item, cat, interest], units=[8]))
"""
#: what TensorFlow's runtime prints on its own, as the issue listed it
TF_NOISE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN|cuda|cuInit|cpu_feature_guard|"
                      r"rebuild TensorFlow|service\.cc|MLIR|Compiled cluster|malloc|retracing|"
                      r"^WARNING:(tensorflow|absl)", re.I)


def recdsl(*args, env_extra=None, cwd=None) -> subprocess.CompletedProcess:
    """`python -m recdsl ARGS` with a clean environment: no TF_CPP_MIN_LOG_LEVEL unless given."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "recdsl", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=600)


def noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if TF_NOISE.search(line)]


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("quiet")
    path = folder / "tiny.rec"
    path.write_text(SPEC, encoding="utf-8")
    rng = np.random.default_rng(0)
    for name, n in (("train", 200), ("valid", 80)):
        cat = rng.choice(["a", "b"], n)
        pq.write_table(pa.table({
            "item": rng.integers(0, 20, n), "cat": cat,
            "hist": [rng.integers(0, 20, k).tolist() for k in rng.integers(0, 7, n)],
            "click": (rng.random(n) < np.where(cat == "a", 0.8, 0.2)).astype("int64")}), folder / f"{name}.parquet")
    return path


def test_build_writes_no_tensorflow_line(spec, tmp_path):
    done = recdsl("build", spec, "-o", tmp_path / "out", "--force")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == []  # recdsl itself has nothing to say on stderr here
    assert "params" in done.stdout


def test_verbose_shows_what_is_hidden_and_a_user_level_is_kept(spec, tmp_path):
    """The silence is recdsl's doing: --verbose (or the user's TF_CPP_MIN_LOG_LEVEL=0) shows the
    runtime's lines again."""
    shown = recdsl("--verbose", "build", spec, "-o", tmp_path / "a", "--force")
    assert shown.returncode == 0 and noise(shown.stderr), shown.stderr
    user = recdsl("build", spec, "-o", tmp_path / "b", "--force", env_extra={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert user.returncode == 0 and noise(user.stderr), user.stderr


def test_training_writes_no_tensorflow_line(spec, tmp_path):
    folder = spec.parent
    done = recdsl("train", spec, "--train", folder / "train.parquet", "--valid", folder / "valid.parquet",
                  "-o", tmp_path / "run", "--epochs", "2", "--batch-size", "32", "--jit", "on",
                  "--length-buckets", "2")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [], noise(done.stderr)
    assert "best epoch" in done.stdout and not noise(done.stdout)


def test_a_closed_pipe_ends_quietly():
    """`recdsl graph spec | head`: the reader went away; no "Broken pipe" error, exit 141 as cat."""
    process = subprocess.Popen([sys.executable, "-m", "recdsl", "graph", "specs/din.rec"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert stderr == ""


def test_python_m_recdsl_is_the_command():
    done = subprocess.run([sys.executable, "-m", "recdsl", "--version"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("recdsl ")
