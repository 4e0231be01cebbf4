"""Run settings (recdsl.training.config): defaults, a YAML file, CLI overrides, the nested
early-stopping form, and the errors for unknown keys, wrong types, bad values and bad YAML."""
from __future__ import annotations

from dataclasses import fields

import pytest

from recdsl.data.errors import DataError
from recdsl.training.config import ConfigError, RunConfig, load_config

DEFAULTS = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 1024, "epochs": 5, "patience": 2,
            "monitor": "auc", "seed": 2024, "jit_compile": "auto", "precision": "float32",
            "steps_per_execution": "auto", "missing": "error", "cache_mb": 4096, "shuffle_buffer": 100_000,
            "length_buckets": 0, "eval_batch_size": 8192,
            "backup_every_steps": 0, "backup_every_seconds": 600,
            "distribution": "auto", "shard_tables_above": 100_000, "columns": {}, "separators": {}, "id_columns": []}


def yaml_file(tmp_path, text: str, name: str = "run.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(*args, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(*args, **kw)
    return info.value


def test_defaults():
    assert load_config().to_dict() == DEFAULTS
    assert load_config(None, {}).to_dict() == DEFAULTS
    assert [f.name for f in fields(RunConfig)] == list(DEFAULTS)


def test_defaults_are_not_shared_between_configs():
    a, b = load_config(), load_config()
    a.columns["x"] = "y"
    a.id_columns.append("uid")
    assert b.columns == {} and b.id_columns == []


def test_yaml_file(tmp_path):
    path = yaml_file(tmp_path, """
optimizer: adagrad
learning_rate: 1e-2        # YAML reads this as text; it is still a number
batch_size: 256
epochs: 3.0                # a whole float is an integer
missing: fill
columns: {ctr: clicked, user_id: uid}
separators: {hist_items: "|"}
id_columns: [uid, 42]
""")
    config = load_config(path)
    assert config.to_dict() == {**DEFAULTS, "optimizer": "adagrad", "learning_rate": 0.01, "batch_size": 256,
                                "epochs": 3, "missing": "fill", "columns": {"ctr": "clicked", "user_id": "uid"},
                                "separators": {"hist_items": "|"}, "id_columns": ["uid", "42"]}
    assert type(config.epochs) is int and type(config.learning_rate) is float


def test_empty_yaml_file_gives_the_defaults(tmp_path):
    assert load_config(yaml_file(tmp_path, "# nothing here\n")).to_dict() == DEFAULTS


def test_cli_overrides_win_and_none_is_ignored(tmp_path):
    path = yaml_file(tmp_path, "epochs: 3\nbatch_size: 256\nlearning_rate: 0.1\n")
    config = load_config(path, {"epochs": 7, "batch_size": None, "learning_rate": 0.5, "seed": 1})
    assert (config.epochs, config.batch_size, config.learning_rate, config.seed) == (7, 256, 0.5, 1)
    assert load_config(None, {"epochs": None}).epochs == 5


def test_nested_early_stopping(tmp_path):
    path = yaml_file(tmp_path, "epochs: 9\nearly_stopping:\n  patience: 4\n  monitor: logloss\n")
    config = load_config(path)
    assert (config.epochs, config.patience, config.monitor) == (9, 4, "logloss")
    path = yaml_file(tmp_path, "early_stopping: {patience: 0}\n", "flow.yaml")
    assert (load_config(path).patience, load_config(path).monitor) == (0, "auc")


def test_nested_early_stopping_keys_are_checked(tmp_path):
    err = config_error(yaml_file(tmp_path, "early_stopping: {patince: 4}\n"))
    assert err.message.endswith("run.yaml: `early_stopping` takes patience and monitor, not `patince`")
    assert err.hint == "did you mean `patience`?"
    err = config_error(yaml_file(tmp_path, "early_stopping: {epochs: 3}\n", "c.yaml"))
    assert err.message.endswith("`early_stopping` takes patience and monitor, not `epochs`")
    err = config_error(yaml_file(tmp_path, "early_stopping: {patience: 4, monitor: accuracy}\n", "b.yaml"))
    assert err.message == "run setting `monitor`: 'accuracy' is not one of auc, logloss, loss"


def test_unknown_key_with_did_you_mean(tmp_path):
    err = config_error(yaml_file(tmp_path, "epoch: 3\n"))
    assert isinstance(err, DataError)  # the CLI prints it as a data error, exit 1
    assert err.message == "unknown run setting `epoch`"
    assert err.hint == "did you mean `epochs`?"
    assert err.render() == "unknown run setting `epoch`\n  hint: did you mean `epochs`?"
    err = config_error(None, {"learning_rat": 0.1})
    assert err.hint == "did you mean `learning_rate`?"


def test_unknown_key_without_a_close_name_lists_the_settings(tmp_path):
    err = config_error(yaml_file(tmp_path, "zzzz: 1\n"))
    assert err.message == "unknown run setting `zzzz`"
    assert err.hint == "settings: " + ", ".join(DEFAULTS)


@pytest.mark.parametrize("text, message", [
    ("epochs: 2.5", "run setting `epochs` must be an integer, got 2.5"),
    ("epochs: true", "run setting `epochs` must be an integer, got True"),
    ("epochs: '3'", "run setting `epochs` must be an integer, got '3'"),
    ("epochs:", "run setting `epochs` must be an integer, got None"),
    ("learning_rate: fast", "run setting `learning_rate` must be a number, got 'fast'"),
    ("learning_rate: false", "run setting `learning_rate` must be a number, got False"),
    ("optimizer: 3", "run setting `optimizer` must be text, got 3"),
    ("columns: {ctr: 1}", "run setting `columns` must be a mapping of names to text, got {'ctr': 1}"),
    ("columns: [a, b]", "run setting `columns` must be a mapping of names to text, got ['a', 'b']"),
    ("id_columns: uid", "run setting `id_columns` must be a list, got 'uid'"),
])
def test_wrong_types(tmp_path, text, message):
    assert config_error(yaml_file(tmp_path, text + "\n")).message == message


@pytest.mark.parametrize("overrides, message", [
    ({"optimizer": "adamm"}, "run setting `optimizer`: 'adamm' is not one of adam, adamw, adagrad, rmsprop, sgd"),
    ({"precision": "float16"},
     "run setting `precision`: 'float16' is not one of float32, mixed_float16, mixed_bfloat16"),
    ({"missing": "drop"}, "run setting `missing`: 'drop' is not one of error, fill"),
    ({"jit_compile": "maybe"}, "run setting `jit_compile`: 'maybe' is not one of auto, on, off (or true/false)"),
    ({"batch_size": 0}, "run setting `batch_size`: must be at least 1, got 0"),
    ({"epochs": -1}, "run setting `epochs`: must be at least 1, got -1"),
    ({"patience": -1}, "run setting `patience`: must not be negative, got -1"),
    ({"length_buckets": -10}, "run setting `length_buckets`: must not be negative, got -10"),
    ({"learning_rate": 0.0}, "run setting `learning_rate`: must be positive, got 0.0"),
    ({"learning_rate": float("nan")}, "run setting `learning_rate`: must be positive, got nan"),
])
def test_bad_values(overrides, message):
    assert config_error(None, overrides).message == message


@pytest.mark.parametrize("text, want", [("jit_compile: true", "on"), ("jit_compile: false", "off"),
                                        ("jit_compile: on", "on"), ("jit_compile: off", "off"),
                                        ("jit_compile: auto", "auto")])
def test_jit_compile_booleans_become_on_off(tmp_path, text, want):
    assert load_config(yaml_file(tmp_path, text + "\n")).jit_compile == want


def test_jit_compile_boolean_override():
    assert load_config(None, {"jit_compile": True}).jit_compile == "on"
    assert load_config(None, {"jit_compile": False}).jit_compile == "off"
    assert load_config(None, {"jit_compile": "off"}).jit_compile == "off"


@pytest.mark.parametrize("text, line, col, problem", [
    ("epochs: 3\nbatch_size: [1, 2\nseed: 1\n", 3, 5, "expected ',' or ']', but got ':'"),
    ("epochs: 3\n  batch_size: 4\n", 2, 13, "mapping values are not allowed here"),
])
def test_invalid_yaml_names_file_line_and_column(tmp_path, text, line, col, problem):
    path = yaml_file(tmp_path, text)
    err = config_error(path)
    assert err.message == f"{path}:{line}:{col}: not valid YAML ({problem})"


def test_a_run_config_must_be_a_mapping(tmp_path):
    path = yaml_file(tmp_path, "- epochs\n- 3\n")
    assert config_error(path).message == f"{path}: a run config is a mapping of settings (key: value)"


def test_missing_config_file(tmp_path):
    path = tmp_path / "nope.yaml"
    assert config_error(path).message == f"cannot read run config {str(path)!r}: No such file or directory"


def test_mixed_float16_under_jax_on_cpu_is_refused_with_the_bfloat16_hint():
    """Under JAX, XLA's CPU dot products refuse float16 inputs with float32 accumulation: the first
    compiled step of any attention spec would fail inside keras; the run refuses before reading data."""
    import jax

    from recdsl.training.compilation import check_precision

    assert all(d.platform == "cpu" for d in jax.devices())  # this test machine
    with pytest.raises(ConfigError) as info:
        check_precision("mixed_float16", backend="jax")
    assert str(info.value).startswith("run setting `precision`: mixed_float16 under JAX needs a GPU")
    assert "mixed_bfloat16" in info.value.hint
    for fine in ("float32", "mixed_bfloat16"):
        check_precision(fine, backend="jax")
    check_precision("mixed_float16", backend="tensorflow")
