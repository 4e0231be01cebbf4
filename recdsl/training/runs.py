"""The run folder: checked before training, prepared once the data has loaded, read back by
`evaluate`, `predict` and export.

A run folder holds everything needed to use the model again, without the spec:

    model.keras          the trained model (best validation epoch) without optimizer state: about
                         4 bytes a parameter, what serving loads; only in a finished run
    preprocessing.json   vocabularies, statistics and the data schema (recdsl.data.preprocess)
    spec.rec             the spec as trained;  NAME.svg its diagram
    run.json             status (running, finished, failed, interrupted), settings, data files, timing
    metrics.json         per-output metrics on valid (and test)
    history.json         per epoch, as history.csv; both rewritten after every epoch
    report.md            the report, with curves.png and attention.png
    checkpoints/         best.keras, the best epoch's model so far (no optimizer state); once the run
                         has restored the best epoch, a hard link to model.keras (one copy on disk)
    backup/              the state `--resume` continues from: the weights and the optimizer state
                         once (recdsl.training.progress, .backup); removed when the run finishes
    logs/                TensorBoard logs (TensorFlow backend)
    .lock                while a run owns the folder (recdsl.training.lock)

Every file is written atomically (recdsl.training.atomic). `--resume` continues a run whose
run.json says running, interrupted or failed; one that made no backup yet starts over; a finished
run, or a folder without run.json, has nothing to resume, and says so.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from recdsl.data.errors import DataError
from recdsl.data.preprocess import Preprocessor
from recdsl.errors import OutputExists


class RunError(DataError):
    """A run folder problem (incomplete, unfinished, busy) or a run that could not finish."""


class RunInterrupted(RunError):
    """Training stopped on SIGTERM (a cluster's preemption) or Ctrl-C after backing itself up;
    `recdsl train --resume` continues it. Exit code 128 + the signal: 143 (SIGTERM), 130 (SIGINT)."""

    def __init__(self, message: str, hint: str = "", *, signum: int = 15):
        self.exit_code = 128 + signum
        super().__init__(message, hint=hint)


class TrainingDiverged(RunError):
    """The loss (or the validation scores) became NaN or infinite: the run stops."""

    def __init__(self, message: str, hint: str = "", *, epoch: int = 0, step: int | None = None):
        self.epoch, self.step = epoch, step
        super().__init__(message, hint=hint)


#: run.json's `status`: written as "running" when training starts, then one of the others
STATUSES = ("running", "finished", "failed", "interrupted")
#: files a run folder may hold that do not make it a run: its lock, temporary files
_NOT_CONTENT = (".lock", ".tmp-")


def _content(path: Path) -> list[Path]:
    return [p for p in path.iterdir() if not p.name.startswith(_NOT_CONTENT)]


def read_info(run_dir) -> dict:
    """run.json of a run folder ({} when there is none or it cannot be read)."""
    try:
        return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_status(run_dir) -> str | None:
    """run.json's status (a run folder written before the field existed is "finished" when it
    holds model.keras); None when the folder holds no run."""
    info = read_info(run_dir)
    if not info:
        return None
    return info.get("status") or ("finished" if (Path(run_dir) / "model.keras").is_file() else "interrupted")


def _resumable(path: Path, resume: bool) -> bool:
    return resume and run_status(path) in ("running", "interrupted", "failed")


def check_run_dir(path, force: bool = False, resume: bool = False) -> None:
    """Raise OutputExists where prepare_run_dir would, without touching anything."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExists(f"{path} exists and is not a folder", hint="choose another -o folder")
    if not path.exists() or not _content(path) or force or _resumable(path, resume):
        return
    if resume and run_status(path) == "finished":
        raise OutputExists(f"run folder {str(path)!r} holds a finished run: there is nothing to resume",
                           hint="pass --force to train it again, or choose another -o folder")
    if resume:
        raise OutputExists(f"run folder {str(path)!r} holds no run to resume (it has no run.json)",
                           hint="pass the -o folder of an interrupted `recdsl train`, --force to replace "
                                "this folder's files, or choose another -o folder")
    raise OutputExists(f"run folder {str(path)!r} is not empty",
                       hint="pass --force to replace it, --resume to continue an interrupted run, "
                            "or choose another -o folder")


def prepare_run_dir(path, force: bool = False, resume: bool = False) -> Path:
    """The run folder, emptied (but for its lock), or with resume the interrupted run as it is (when
    it has completed an epoch: a run interrupted in its first epoch starts over)."""
    check_run_dir(path, force=force, resume=resume)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if _resumable(path, resume) and (path / "backup" / "state.json").is_file():
        return path
    return clear_run_dir(path)


def clear_run_dir(path: Path) -> Path:
    """Remove everything in a run folder but its lock."""
    for entry in _content(path):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return path


@dataclass
class LoadedRun:
    run_dir: Path
    model: object
    pre: Preprocessor
    info: dict

    def setting(self, key: str, default=None):
        """A run setting as trained (run.json's config), or `default`."""
        return self.info.get("config", {}).get(key, default)

    def inputs(self, rows, *, missing: str | None = None) -> dict:
        """Raw rows -> the model's inputs ({input name: numpy array}), preprocessed exactly as
        `recdsl predict` preprocesses a file's rows (the run's vocabularies, hashing, statistics,
        list truncation and padding). `rows`: a list of dicts, one per row, or a dict of columns
        (name -> list of values), with the data columns the spec reads (labels not needed).
        missing: "error" or "fill" (default: the run's rule)."""
        from recdsl.data import source
        from recdsl.data.errors import FixLog

        chunk = source.read_rows(rows, self.pre.schema, FixLog("rows"),
                                 missing=missing or self.setting("missing", "error"))
        return self.pre.transform_arrays(self.pre.coerce(chunk))


def load_run(run_dir) -> LoadedRun:
    """The model, preprocessing and run.json of a finished run."""
    run_dir = Path(run_dir)
    status = run_status(run_dir)
    if status not in (None, "finished"):
        raise RunError(f"{run_dir} is not a finished run: its run.json says {status!r}",
                       hint="`recdsl train --resume` continues an interrupted run; report.md says why a "
                            "failed one stopped")
    for name in ("model.keras", "preprocessing.json"):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} is not a finished run: {name} is missing",
                           hint="pass the -o folder of a `recdsl train` that completed")
    from recdsl.layers import load_model

    model = load_model(run_dir / "model.keras")
    pre = Preprocessor.load(run_dir / "preprocessing.json")
    return LoadedRun(run_dir, model, pre, read_info(run_dir))
