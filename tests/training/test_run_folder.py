"""The run folder without training: exit codes of existing outputs, the lock that gives a folder one
owner, and atomic writes (recdsl.training.runs, .lock, .atomic)."""
from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys

import pytest

from recdsl.errors import EXIT_USAGE, OutputExists
from recdsl.training import atomic
from recdsl.training.lock import LOCK_NAME, RunFolderBusy, RunLock
from recdsl.training.runs import check_run_dir, prepare_run_dir, run_status

from ..cli_call import call

SPEC = 'model tiny\nfeature cat : category(vocab=["a", "b"], dim=4)\noutput click = sigmoid(mlp([cat], units=[4]))\n'


def plant_lock(folder, pid: int, host: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(),
                                                "started": "2026-01-01T00:00:00+00:00"}))


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_an_existing_run_folder_is_an_existing_output(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_text("x")
    with pytest.raises(OutputExists) as found:
        check_run_dir(tmp_path / "run")
    assert found.value.exit_code == EXIT_USAGE == 2
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputExists):
        check_run_dir(tmp_path / "file", force=True)


def test_train_into_a_non_empty_folder_exits_2(tmp_path):
    spec = tmp_path / "tiny.rec"
    spec.write_text(SPEC)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    code, out, err = call(["train", spec, "--train", spec, "-o", tmp_path / "run", "-q"])
    assert code == 2
    assert err.startswith(f"recdsl: error: run folder {str(tmp_path / 'run')!r} is not empty\n")
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_resume_of_a_finished_run_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "finished"}))
    with pytest.raises(OutputExists, match="holds a finished run: there is nothing to resume"):
        check_run_dir(run, resume=True)


def test_a_run_killed_before_its_first_epoch_can_be_resumed(tmp_path):
    """--resume of a run with no backup yet starts it over (it used to be refused as not empty)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "running"}))
    (run / "preprocessing.json").write_text("{}")
    plant_lock(run, dead_pid())
    assert run_status(run) == "running"
    check_run_dir(run, resume=True)
    assert prepare_run_dir(run, resume=True) == run
    assert sorted(p.name for p in run.iterdir()) == [LOCK_NAME]  # emptied, but for the lock


def test_a_lock_refuses_a_second_owner_and_names_the_first(tmp_path):
    folder = tmp_path / "run"
    with RunLock(folder):
        owner = json.loads((folder / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname() and owner["started"]
        with pytest.raises(RunFolderBusy) as found:
            with RunLock(folder):
                pass
        message = found.value.render()
        assert f"is in use by another run (pid {os.getpid()} on {socket.gethostname()} since " in message
        assert f"delete {folder / LOCK_NAME}" in message
        assert found.value.exit_code == 1
    assert not folder.exists()  # the lock made the folder, and it was left empty


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    plant_lock(tmp_path / "run", 1, host="elsewhere.example")
    with pytest.raises(RunFolderBusy, match="pid 1 on elsewhere.example"):
        with RunLock(tmp_path / "run"):
            pass


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path):
    folder, notes = tmp_path / "run", []
    pid = dead_pid()
    plant_lock(folder, pid)
    with RunLock(folder, log=notes.append):
        assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert notes == [f"note: took over the lock of an interrupted run (pid {pid} on {socket.gethostname()} "
                     "since 2026-01-01T00:00:00+00:00; that process no longer runs)"]
    assert sorted(p.name for p in folder.iterdir()) == []  # the lock is gone, the folder stays (not made)


def test_train_is_refused_while_another_process_owns_the_folder(tmp_path):
    """A planted lock of a live process: `train --force` is refused at once and touches nothing."""
    spec = tmp_path / "tiny.rec"
    spec.write_text(SPEC)
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_text("the other run's")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        plant_lock(run, sleeper.pid)
        code, out, err = call(["train", spec, "--train", spec, "-o", run, "--force", "-q"])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert code == 1
    assert err.startswith(f"recdsl: error: run folder {str(run)!r} is in use by another run (pid {sleeper.pid} ")
    assert (run / "model.keras").read_text() == "the other run's"
    assert json.loads((run / LOCK_NAME).read_text())["pid"] == sleeper.pid


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "history.json"
    atomic.write_json(path, {"loss": [1.0]})

    def disk_full(tmp):
        with open(tmp, "r+b") as f:
            f.truncate(3)
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    monkeypatch.setattr(atomic, "_finish", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_json(path, {"loss": [1.0, 0.5]})
    assert json.loads(path.read_text()) == {"loss": [1.0]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]  # no temporary file is left
