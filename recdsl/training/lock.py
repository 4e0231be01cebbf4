"""The owner of a run folder: one run writes a folder at a time.

`RunLock` creates RUN/.lock with O_CREAT | O_EXCL (atomic: of two runs starting together exactly
one creates it) and writes its owner into it: pid, host and start time. A second run finds the
file and is refused with RunFolderBusy, naming the owner. A lock whose process no longer runs on
this host (a run killed with SIGKILL, a machine that rebooted) is stale: the next run takes it
over and says so. The lock is removed when its run ends, however it ends.
"""
from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

from recdsl.training.runs import RunError

LOCK_NAME = ".lock"


class RunFolderBusy(RunError):
    """Another run owns the run folder."""


def _owner_text() -> str:
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "started": datetime.now(timezone.utc).isoformat(timespec="seconds")})


def read_owner(lock: Path) -> dict | None:
    """The owner written in a lock file; {} while its owner is still writing it (or when it is
    unreadable); None when there is no lock."""
    try:
        return json.loads(lock.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def is_alive(owner: dict) -> bool:
    """Whether the lock's process runs (always true for another host's lock: we cannot tell)."""
    if owner.get("host") != socket.gethostname() or not isinstance(owner.get("pid"), int):
        return True
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def describe(owner: dict) -> str:
    if not owner:
        return "another process"
    return f"pid {owner.get('pid')} on {owner.get('host')} since {owner.get('started')}"


class RunLock:
    """`with RunLock(folder, log):` owns `folder` (made if missing) for the block. A folder that
    the lock made and that is left empty is removed at the end (a run refused for bad data leaves
    nothing behind)."""

    def __init__(self, folder, log=None):
        self.folder, self.log = Path(folder), log
        self.path = self.folder / LOCK_NAME
        self.made_folder = False

    def __enter__(self) -> "RunLock":
        self.made_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._acquire()
        except BaseException:
            self._remove_folder_if_made()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if read_owner(self.path) == self.owner:
            self.path.unlink(missing_ok=True)
        self._remove_folder_if_made()

    def _remove_folder_if_made(self) -> None:
        if self.made_folder and self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()

    def _acquire(self) -> None:
        text = _owner_text()
        for _ in range(50):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            self.owner = json.loads(text)
            return
        raise RunFolderBusy(f"run folder {str(self.folder)!r} is in use", hint=self._hint())

    def _take_over_if_stale(self) -> None:
        """Remove the lock file when its owner is gone; raise RunFolderBusy when it runs."""
        owner = read_owner(self.path)
        if owner == {}:  # its owner is writing it: look again
            time.sleep(0.1)
            owner = read_owner(self.path)
        if owner is None:
            return
        if owner == {} or is_alive(owner):
            raise RunFolderBusy(f"run folder {str(self.folder)!r} is in use by another run "
                                f"({describe(owner)})", hint=self._hint())
        # move the stale file aside first: of two runs taking it over at once only one moves it,
        # and one that moved a fresh lock (made meanwhile by a third run) puts it back
        aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        if read_owner(aside) != owner:
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
            aside.unlink(missing_ok=True)
            return
        aside.unlink(missing_ok=True)
        if self.log:
            self.log(f"note: took over the lock of an interrupted run ({describe(owner)}; "
                     "that process no longer runs)")

    def _hint(self) -> str:
        return ("wait for that run to finish, or choose another -o folder; if no such run is going on, "
                f"delete {self.path}")
