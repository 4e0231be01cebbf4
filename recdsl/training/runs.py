"""The run folder: checked before training, prepared once the data has loaded, read back by
`evaluate`, `predict` and export.

A run folder holds everything needed to use the model again, without the spec:

    model.keras          the trained model (best validation epoch)
    preprocessing.json   vocabularies, statistics and the data schema (recdsl.data.preprocess)
    spec.rec             the spec as trained;  NAME.svg its diagram
    run.json             settings, data files and timing
    metrics.json         per-output metrics on valid (and test); history.json per epoch
    report.md            the report, with curves.png and attention.png
    checkpoints/         the best model so far (ModelCheckpoint)
    backup/              BackupAndRestore state while training: an interrupted run resumes
    logs/                TensorBoard logs (TensorFlow backend)
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recdsl.data.errors import DataError
from recdsl.data.preprocess import Preprocessor


class RunError(DataError):
    """A run folder problem (exists, incomplete)."""


def _resumable(path: Path, resume: bool) -> bool:
    return resume and (path / "backup").exists()


def check_run_dir(path, force: bool = False, resume: bool = False) -> None:
    """Raise RunError where prepare_run_dir would, without touching anything."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunError(f"{path} exists and is not a folder")
    if path.exists() and any(path.iterdir()) and not force and not _resumable(path, resume):
        raise RunError(f"run folder {str(path)!r} is not empty",
                       hint="pass --force to replace it, --resume to continue an interrupted run, "
                            "or choose another -o folder")


def prepare_run_dir(path, force: bool = False, resume: bool = False) -> Path:
    """An empty run folder (or, with resume, the interrupted one as it is)."""
    check_run_dir(path, force=force, resume=resume)
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        if _resumable(path, resume):
            return path
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, data) -> None:
    """Write `data` as indented, key-sorted JSON; a reader never sees a half-written file."""
    text = json.dumps(data, indent=1, sort_keys=True, default=_json_default) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


@dataclass
class LoadedRun:
    run_dir: Path
    model: object
    pre: Preprocessor
    info: dict

    def setting(self, key: str, default=None):
        """A run setting as trained (run.json's config), or `default`."""
        return self.info.get("config", {}).get(key, default)


def load_run(run_dir) -> LoadedRun:
    """The model, preprocessing and run.json of a finished run."""
    run_dir = Path(run_dir)
    for name in ("model.keras", "preprocessing.json"):
        if not (run_dir / name).is_file():
            raise RunError(f"{run_dir} is not a finished run: {name} is missing",
                           hint="pass the -o folder of a `recdsl train` that completed")
    from recdsl.layers import load_model

    model = load_model(run_dir / "model.keras")
    pre = Preprocessor.load(run_dir / "preprocessing.json")
    info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
    return LoadedRun(run_dir, model, pre, info)
