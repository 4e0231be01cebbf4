"""Run settings: defaults, a YAML run config, CLI overrides; every key checked."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from recdsl.data.errors import DataError

#: optimizer setting -> keras.optimizers class
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad", "rmsprop": "RMSprop", "sgd": "SGD"}
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


class ConfigError(DataError):
    """A bad run config (file or flag)."""


@dataclass
class RunConfig:
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 1024
    epochs: int = 5
    patience: int = 2                 # early stopping: epochs without improvement of `monitor`
    monitor: str = "auc"              # auc | logloss | loss: on validation, first output
    seed: int = 2024
    jit_compile: str = "auto"         # auto (GPU, JAX; CPU: small tables, no dropout) | on | off
    precision: str = "float32"
    steps_per_execution: int | str = "auto"  # auto (up to 16) | N: training steps per compiled call
    missing: str = "error"            # error | fill (see recdsl.data.source)
    cache_mb: int = 4096              # preprocessed data up to this size is kept in memory
    shuffle_buffer: int = 100_000     # streamed data only
    length_buckets: int = 0           # N > 0: batch rows of similar sequence length, cut to a multiple of N
    eval_batch_size: int = 8192
    backup_every_steps: int = 0       # back up inside an epoch every N steps (0: off) ...
    backup_every_seconds: int = 600   # ... and every N seconds (0: off); always at each epoch's end
    distribution: str = "auto"        # auto | none | data | model (recdsl.training.distribution)
    shard_tables_above: int = 100_000  # distribution model: tables of more rows are row-sharded
    columns: dict = field(default_factory=dict)     # feature/output name -> data column
    separators: dict = field(default_factory=dict)  # list feature -> CSV separator
    id_columns: list = field(default_factory=list)  # predict: columns copied next to the scores

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> "RunConfig":
        def bad(key, message, hint=""):
            raise ConfigError(f"run setting `{key}`: {message}", hint=hint)

        if self.optimizer not in OPTIMIZERS:
            bad("optimizer", f"{self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if self.precision not in PRECISIONS:
            bad("precision", f"{self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.missing not in ("error", "fill"):
            bad("missing", f"{self.missing!r} is not one of error, fill")
        if self.distribution not in ("auto", "none", "data", "model"):
            bad("distribution", f"{self.distribution!r} is not one of auto, none, data, model")
        if self.jit_compile not in ("auto", "on", "off"):
            bad("jit_compile", f"{self.jit_compile!r} is not one of auto, on, off (or true/false)")
        if self.monitor not in ("auc", "logloss", "loss"):
            bad("monitor", f"{self.monitor!r} is not one of auc, logloss, loss")
        steps = self.steps_per_execution
        if steps != "auto" and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            bad("steps_per_execution", f"must be auto or a whole number of at least 1, got {steps!r}")
        for key in ("batch_size", "epochs", "eval_batch_size"):
            if getattr(self, key) < 1:
                bad(key, f"must be at least 1, got {getattr(self, key)}")
        for key in ("patience", "cache_mb", "shuffle_buffer", "length_buckets", "backup_every_steps",
                    "backup_every_seconds", "shard_tables_above"):
            if getattr(self, key) < 0:
                bad(key, f"must not be negative, got {getattr(self, key)}")
        if not self.learning_rate > 0:
            bad("learning_rate", f"must be positive, got {self.learning_rate}")
        return self


def load_config(path=None, overrides: dict | None = None) -> RunConfig:
    """Defaults <- YAML file <- overrides (CLI flags; None values ignored)."""
    values: dict = {}
    if path is not None:
        values.update(_read_yaml(Path(path)))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name: f for f in fields(RunConfig)}
    for key in values:
        if key not in known:
            from recdsl.lang.suggest import did_you_mean

            raise ConfigError(f"unknown run setting `{key}`",
                              hint=did_you_mean(key, list(known)) or f"settings: {', '.join(known)}")
    out = RunConfig()
    for key, value in values.items():
        setattr(out, key, _typed(key, value, getattr(out, key)))
    return out.validate()


def _typed(key: str, value, default):
    if key == "steps_per_execution":  # auto, or a number
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"run setting `{key}` must be auto or a whole number, got {value!r}")
    kind = type(default)
    if key == "jit_compile" and isinstance(value, bool):
        return "on" if value else "off"
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"run setting `{key}` must be true or false, got {value!r}")
    if kind is int and not isinstance(value, bool):
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value)
    elif kind is float and not isinstance(value, bool):
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind is str and isinstance(value, str):
        return value
    elif kind is dict and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    elif kind is list and isinstance(value, list):
        return [str(v) for v in value]
    want = {int: "an integer", float: "a number", str: "text", dict: "a mapping of names to text",
            list: "a list"}[kind]
    raise ConfigError(f"run setting `{key}` must be {want}, got {value!r}")


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read run config {str(path)!r}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a run config is a mapping of settings (key: value)")
    if isinstance(data.get("early_stopping"), dict):  # nested form: early_stopping: {patience:, monitor:}
        nested = data.pop("early_stopping")
        for key in nested:
            if key not in ("patience", "monitor"):
                from recdsl.lang.suggest import did_you_mean

                raise ConfigError(f"{path}: `early_stopping` takes patience and monitor, not `{key}`",
                                  hint=did_you_mean(key, ["patience", "monitor"]) or "")
            data[key] = nested[key]
    return data
