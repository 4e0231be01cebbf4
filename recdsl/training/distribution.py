"""Scale-out with Keras' own distribution API (keras.distribution) on the JAX backend: data
parallel and model parallel over every device of every process, and the processes of one run.

Run settings (recdsl.training.config): `distribution`

    auto   JAX: data parallel when there are several devices or processes, else none;
           TensorFlow: MirroredStrategy over several local GPUs (one process), else none
    none   one device
    data   DataParallel: the batch split over every device; weights replicated
    model  ModelParallel: every embedding table of more than `shard_tables_above` rows (default
           100,000) row-sharded ("model", None) across the model axis, every other weight
           replicated; the batch on the data axis

Meshes (`mesh_shape`): data is [batch = all devices]. model is [batch, model]: with several
processes the model axis spans the processes (each holds its row-shard of every large table,
`addressable_shards`) and the batch axis the devices of one process; in one process the model
axis spans its devices. A table whose rows do not divide by the model axis is padded to the next
multiple of it (recdsl.layers.embedding.padded_rows: zero rows after the real ones, never looked up;
each device holds ceil(rows / model axis) rows); model.keras holds the real rows alone. The
checker's parameter counts are the real rows'; `model.count_params()` of the distributed model
counts the padding too (fewer than the model axis rows per table), `check --table --devices N` the
padded shard of each device.

Processes: `--coordinator HOST:PORT --num-processes N --process-id I` (or RECDSL_COORDINATOR,
RECDSL_NUM_PROCESSES, RECDSL_PROCESS_ID) start `keras.distribution.initialize` over
jax.distributed before anything else; on CPU the collectives are gloo's, on GPU JAX's default
(NCCL). `batch_size` is the global batch: each process feeds batch_size / data shards rows,
where the data shards are the processes along the batch axis (N for data parallel; 1 for model
parallel over processes, whose processes all feed the same batch). Each process reads its shard of
the training files (recdsl.data.source.shard_of); valid/test are read whole by every process,
so they all score the same rows and agree on early stopping.

Only process 0 writes the run folder; the others write into a scratch folder they remove at the
end (`folder_of`; on --resume it starts as a copy of the run folder's backup, so the run folder
must be readable by every process: one machine, or a shared filesystem). Weights that span
other processes cannot be read or saved where they are, so a multi-process run keeps an
undistributed twin of the model (recdsl.training.scaled): after every epoch every process gathers
the weights into it (a collective), and the callbacks (validation, checkpoints, backups) and the
final scoring and model.keras work on the twin. Backups inside an epoch are off in such a run.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from recdsl.errors import RecdslError, UsageError

DISTRIBUTIONS = ("auto", "none", "data", "model")
ENVIRONMENT = {"coordinator": "RECDSL_COORDINATOR", "count": "RECDSL_NUM_PROCESSES",
               "index": "RECDSL_PROCESS_ID"}
JAX_ENVIRONMENT = {"coordinator": "JAX_COORDINATOR_ADDRESS", "count": "JAX_NUM_PROCESSES",
                   "index": "JAX_PROCESS_ID"}
JAX_HINT = "scale out on the JAX backend: KERAS_BACKEND=jax recdsl train --distribution data ..."


class DistributionError(RecdslError):
    """A distribution setting or process flag that cannot work."""


@dataclass(frozen=True)
class Processes:
    """The processes of one run: how many, which one this is, and the coordinator's HOST:PORT."""

    count: int = 1
    index: int = 0
    coordinator: str | None = None

    @property
    def many(self) -> bool:
        return self.count > 1

    @property
    def writes(self) -> bool:
        """Process 0 writes the run folder."""
        return self.index == 0


def processes_of(coordinator=None, count=None, index=None, environ=None) -> Processes:
    """Flags first, then RECDSL_*, then JAX's JAX_COORDINATOR_ADDRESS/JAX_NUM_PROCESSES/JAX_PROCESS_ID."""
    environ = os.environ if environ is None else environ

    def pick(key, given):
        if given is not None:
            return given
        return environ.get(ENVIRONMENT[key]) or environ.get(JAX_ENVIRONMENT[key])

    coordinator, count, index = pick("coordinator", coordinator), pick("count", count), pick("index", index)
    try:
        count, index = int(count or 1), int(index or 0)
    except ValueError:
        raise UsageError(f"--num-processes and --process-id are integers, got {count!r} and {index!r}") from None
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--process-id must be in 0..{count - 1} for --num-processes {count}, got {index}")
    if count > 1 and not (coordinator and re.fullmatch(r"[^\s:]+:\d+", coordinator)):
        raise UsageError(f"{count} processes need --coordinator HOST:PORT (process 0's address), got {coordinator!r}",
                         hint="e.g. --coordinator 10.0.0.1:1234 on every process, or RECDSL_COORDINATOR")
    return Processes(count, index, coordinator)


def check_backend(backend: str, setting: str, processes: Processes, environ=None) -> None:
    """The TensorFlow and torch backends train in one process: TF_CONFIG, processes and the data/model
    settings are refused there with the JAX command to use."""
    environ = os.environ if environ is None else environ
    if backend == "jax":
        return
    if backend == "tensorflow" and environ.get("TF_CONFIG"):
        raise DistributionError("TF_CONFIG is set, but Keras 3's fit does not train with TensorFlow's "
                                "MultiWorkerMirroredStrategy (or ParameterServerStrategy)", hint=JAX_HINT
                                + " --coordinator HOST:PORT --num-processes N --process-id I (and unset TF_CONFIG)")
    if processes.many or setting in ("data", "model"):
        what = f"{processes.count} processes" if processes.many else f"distribution `{setting}`"
        raise DistributionError(f"{what} need the JAX backend (this is {backend!r})", hint=JAX_HINT)


def start(processes: Processes, setting: str = "auto") -> None:
    """Refuse what the backend cannot train (check_backend), then join the run's processes
    (keras.distribution.initialize over jax.distributed) before any JAX computation; gloo
    collectives on CPU. One process: nothing to join."""
    import keras

    check_backend(keras.backend.backend(), setting, processes)
    if not processes.many:
        return
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if jax.distributed.is_initialized():
        return
    keras.distribution.initialize(processes.coordinator, processes.count, processes.index)


def sharded_tables(spec, threshold: int, model_axis: int) -> dict:
    """{variable path: rows} of the embedding tables row-sharded ("model", None): every table of more
    than `threshold` rows (padded where its rows do not divide by `model_axis`); {} for a model axis of 1."""
    from recdsl.checker.memory import row_sharded, table_rows
    from recdsl.emitter import feature_layer_name

    found = {}
    for node in spec.nodes:
        rows = table_rows(node)
        if rows is not None and row_sharded(rows, threshold, model_axis):
            found[f"{feature_layer_name(node.name)}/embeddings"] = rows
    return found


def mesh_shape(setting: str, devices: int, processes: int) -> tuple[int, int]:
    """(batch axis, model axis) of the mesh over `devices` devices of `processes` processes."""
    if setting != "model":
        return devices, 1
    model = processes if processes > 1 else devices
    return devices // model, model


def distribution_of(config, spec, devices, processes: Processes):
    """The keras Distribution of a run (None: none), over `devices` (every process's, in
    jax.devices() order: process-major)."""
    import keras

    setting = config.distribution
    if setting == "auto":
        setting = "data" if len(devices) > 1 else "none"
    if setting == "none":
        if processes.many:
            raise DistributionError(f"distribution `none` cannot train on {processes.count} processes",
                                    hint="use --distribution data or model (or auto)")
        return None
    import numpy as np

    batch, model = mesh_shape(setting, len(devices), processes.count)
    if setting == "data":
        mesh = keras.distribution.DeviceMesh((batch,), ["batch"], list(devices))
        return keras.distribution.DataParallel(device_mesh=mesh, auto_shard_dataset=False)
    grid = np.array(devices, dtype=object).reshape(model, batch).T  # process-major: a column per process
    mesh = keras.distribution.DeviceMesh((batch, model), ["batch", "model"], grid)
    layouts = keras.distribution.LayoutMap(mesh)
    for path in sharded_tables(spec, config.shard_tables_above, model if setting == "model" else 1):
        layouts[path] = ("model", None)
    return keras.distribution.ModelParallel(layout_map=layouts, batch_dim_name="batch", auto_shard_dataset=False)


def data_shards(setting: str, processes: Processes) -> int:
    """Into how many parts the processes split the training rows: the processes along the batch
    axis (all of them, but for model parallel, whose model axis spans them)."""
    return 1 if setting == "model" else processes.count


def local_batch(batch_size: int, shards: int) -> int:
    if batch_size % shards:
        raise DistributionError(f"batch_size {batch_size} does not divide among {shards} processes",
                                hint=f"use a multiple of {shards}: each process feeds batch_size / {shards} rows")
    return batch_size // shards


def agreed_min(value: int, processes: Processes) -> int:
    """The smallest of every process's `value` (a collective: every process calls it)."""
    if not processes.many:
        return value
    import numpy as np
    from jax.experimental import multihost_utils

    return int(np.min(multihost_utils.process_allgather(np.array([value], dtype=np.int64))))


def folder_of(out, processes: Processes, resume: bool) -> Path:
    """The folder this process writes: `out` for process 0; for the others a scratch folder (a copy
    of out's run.json, spec.rec and backup/ when resuming), removed when the process ends."""
    if processes.writes:
        return Path(out)
    scratch = Path(tempfile.mkdtemp(prefix=f"recdsl-process-{processes.index}-"))
    import atexit

    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    out = Path(out)
    if resume and (out / "run.json").is_file():
        for name in ("run.json", "spec.rec"):
            if (out / name).is_file():
                shutil.copy2(out / name, scratch / name)
        if (out / "backup").is_dir():
            shutil.copytree(out / "backup", scratch / "backup")
    return scratch

