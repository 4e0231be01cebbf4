"""Several training steps a compiled call (`steps_per_execution`, recdsl.training.fitloop): the
count divides the epoch's steps and the backup interval, and a run trains the same steps on the
same batches whatever the count, so its history and weights are those of one step a call."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from recdsl.training.config import ConfigError, RunConfig, load_config
from recdsl.training.fitloop import AUTO_EXECUTION_STEPS, execution_steps

from .test_train_cli import SPEC, click_log


@pytest.mark.parametrize("setting, steps, backups, expected", [
    ("auto", 78, 0, 13),    # MovieLens-100k at batch 1,024: 78 = 6 x 13
    ("auto", 96, 0, 16),
    ("auto", 79, 0, 1),     # a prime number of steps: one a call
    ("auto", 5, 0, 5),      # the whole epoch in one call
    ("auto", 96, 10, 2),    # backups every 10 steps land on a call's end
    ("auto", 96, 12, 12),
    (4, 96, 0, 4),
    (4, 10, 0, 2),          # 4 does not divide 10: 4 a call would train 12 steps an epoch
    (1, 96, 0, 1),
    ("auto", None, 0, 1),   # streamed data: the epoch's steps are not known
])
def test_the_count_divides_the_epoch_and_the_backup_interval(setting, steps, backups, expected):
    assert execution_steps(setting, steps, backups) == expected
    assert execution_steps(setting, steps, backups, backend="jax") == expected
    assert execution_steps(setting, steps, backups, backend="torch") == 1  # Keras' torch trainer runs one


def test_auto_is_the_default_and_the_setting_is_checked(tmp_path):
    assert RunConfig().steps_per_execution == "auto" and AUTO_EXECUTION_STEPS == 16
    path = tmp_path / "run.yaml"
    path.write_text("steps_per_execution: 8\n")
    assert load_config(path).steps_per_execution == 8
    assert load_config(overrides={"steps_per_execution": "8"}).steps_per_execution == 8
    for bad, text in ((0, "must be auto or a whole number of at least 1, got 0"),
                      ("fast", "must be auto or a whole number, got 'fast'"),
                      (2.5, "must be auto or a whole number, got 2.5"),
                      (True, "must be auto or a whole number, got True")):
        with pytest.raises(ConfigError) as info:
            load_config(overrides={"steps_per_execution": bad})
        assert str(info.value).startswith("run setting `steps_per_execution`") and text in str(info.value)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calls")
    (folder / "tiny.rec").write_text(SPEC, encoding="utf-8")
    pq.write_table(click_log(300, 1), folder / "train.parquet")  # 10 steps of 32 rows an epoch
    pq.write_table(click_log(100, 2), folder / "valid.parquet")
    return folder


def _trained(folder, name: str, **settings):
    pytest.importorskip("tensorflow")
    import keras

    import recdsl  # noqa: F401  (registers the layers)
    from recdsl.training.fit import train

    said = []
    config = RunConfig(epochs=2, batch_size=32, learning_rate=0.01, patience=0, **settings)
    result = train(folder / "tiny.rec", folder / "train.parquet", folder / "valid.parquet", out=folder / name,
                   config=config, verbose=0, log=said.append)
    model = keras.saving.load_model(folder / name / "model.keras", compile=False)
    return result.history, [np.asarray(w) for w in model.get_weights()], said


@pytest.mark.slow
@pytest.mark.parametrize("settings", [dict(jit_compile="off"), dict(jit_compile="on"),
                                      dict(jit_compile="off", length_buckets=2)],
                         ids=["eager-graph", "xla", "length-buckets"])
def test_several_steps_a_call_train_what_one_step_a_call_trains(folder, settings):
    name = "-".join(f"{k}{v}" for k, v in settings.items())
    one, one_weights, _ = _trained(folder, f"one-{name}", steps_per_execution=1, **settings)
    for setting, calls in (("auto", 10), (4, 2)):
        history, weights, said = _trained(folder, f"{setting}-{name}", steps_per_execution=setting, **settings)
        assert history.keys() == one.keys()
        for key in one:
            np.testing.assert_allclose(history[key], one[key], rtol=1e-5, err_msg=f"{setting}: {key}")
        for got, want in zip(weights, one_weights, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        line = next(text for text in said if text.startswith("training tiny"))
        assert f", {calls} steps a call" in line, line
