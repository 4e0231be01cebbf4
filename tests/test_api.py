"""The public API in recdsl/__init__.py: each verb gives what the `recdsl` command gives, errors
are RecdslErrors with the command's exit code, `import recdsl` is instant, and no module hides
a verb."""
from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import recdsl
from recdsl.errors import RecdslError, UsageError
from recdsl.lang.errors import SpecErrors

from .cli_call import call

ROOT = Path(__file__).resolve().parent.parent
DIN = ROOT / "specs" / "din.rec"
BAD = "model m\nfeature a : id(buckets=0)\noutput o = sigmoid(a)\n"
HEAVY = ("tensorflow", "keras", "jax", "torch")


# --- names and imports ----------------------------------------------------------------------

def test_no_module_is_named_like_a_verb():
    modules = {m.name for m in pkgutil.iter_modules(recdsl.__path__)}
    assert not modules & set(recdsl.__all__), modules & set(recdsl.__all__)


def test_importing_the_modules_does_not_hide_the_verbs():
    import recdsl.buildfolder  # noqa: F401
    import recdsl.checker.checker  # noqa: F401
    import recdsl.cli.export  # noqa: F401
    import recdsl.cli.main  # noqa: F401
    import recdsl.cli.train  # noqa: F401
    import recdsl.diagram  # noqa: F401
    import recdsl.errors  # noqa: F401
    import recdsl.graph  # noqa: F401
    import recdsl.serving  # noqa: F401
    import recdsl.training  # noqa: F401

    for name in recdsl.__all__:
        verb = getattr(recdsl, name)
        assert callable(verb) and verb.__module__ == "recdsl", name


_LIGHT = """
import sys
import recdsl
assert [m for m in sys.modules if m.startswith("recdsl.")] == [], sorted(m for m in sys.modules if "recdsl" in m)
spec = recdsl.check("specs/din.rec")
graph = recdsl.dependency_graph(spec)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
assert not heavy, heavy
print("LIGHT-OK", len(spec.nodes), graph.number_of_nodes())
"""


def test_import_is_lazy_and_check_never_imports_keras():
    done = subprocess.run([sys.executable, "-c", _LIGHT.format(heavy=HEAVY)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("LIGHT-OK")


# --- check, graph, draw ---------------------------------------------------------------------

def test_check_gives_what_the_cli_prints():
    spec = recdsl.check(DIN)
    code, out, _ = call(["check", DIN])
    assert code == 0
    assert out == f"{DIN}: ok — model {spec.name}, {len(spec.nodes)} nodes, {spec.total_params:,} parameters\n"
    assert recdsl.check(recdsl.load(ROOT / "specs" / "dcn.rec")).total_params == \
        recdsl.typecheck(ROOT / "specs" / "dcn.rec").total_params


def test_dependency_graph_and_draw_take_a_path_or_a_checked_spec(tmp_path):
    spec = recdsl.check(DIN)
    assert recdsl.dependency_graph(DIN).number_of_nodes() == len(spec.nodes)
    assert recdsl.draw(spec, tmp_path / "din.dot") == tmp_path / "din.dot"
    code, _, _ = call(["render", DIN, "-o", tmp_path / "cli.dot"])
    assert code == 0
    assert (tmp_path / "din.dot").read_text() == (tmp_path / "cli.dot").read_text()


# --- errors ---------------------------------------------------------------------------------

def test_a_bad_spec_raises_spec_errors_with_exit_1(tmp_path):
    path = tmp_path / "bad.rec"
    path.write_text(BAD)
    with pytest.raises(SpecErrors) as info:
        recdsl.check(path)
    assert isinstance(info.value, RecdslError) and info.value.exit_code == 1
    code, _, err = call(["check", path])
    assert code == info.value.exit_code
    assert err == info.value.render() + "\n\n"


def test_build_into_a_full_folder_is_a_usage_error_as_in_the_cli(tmp_path):
    (tmp_path / "keep").write_text("keep")
    with pytest.raises(UsageError) as info:
        recdsl.build(DIN, tmp_path)
    assert info.value.exit_code == 2
    code, _, err = call(["build", DIN, "-o", tmp_path])
    assert (code, err) == (2, f"recdsl: error: {info.value.render()}\n")
    assert (tmp_path / "keep").read_text() == "keep"


def test_run_errors_have_the_cli_exit_code(tmp_path):
    pytest.importorskip("pyarrow")
    with pytest.raises(RecdslError) as info:
        recdsl.evaluate(tmp_path, tmp_path / "x.parquet")
    code, _, err = call(["evaluate", tmp_path, "--data", tmp_path / "x.parquet"])
    assert (code, err) == (info.value.exit_code, f"recdsl: error: {info.value.render()}\n")
    assert code == 1

    with pytest.raises(RecdslError) as info:
        recdsl.export(tmp_path / "nowhere")
    code, _, err = call(["export", tmp_path / "nowhere"])
    assert (code, err) == (info.value.exit_code, f"recdsl: error: {info.value.render()}\n")


def test_an_unknown_run_setting_is_a_config_error(tmp_path):
    pytest.importorskip("pyarrow")
    with pytest.raises(RecdslError, match="unknown run setting `epoch`") as info:
        recdsl.train(DIN, train=tmp_path / "t.parquet", out=tmp_path / "run", epoch=3)
    assert info.value.exit_code == 1
    assert not (tmp_path / "run").exists()


# --- build, train (Keras) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    pytest.importorskip("keras")
    base = tmp_path_factory.mktemp("build")
    result = recdsl.build(DIN, base / "api")
    code, out, err = call(["build", DIN, "-o", base / "cli"])
    assert code == 0, err
    return base, result, out


def test_build_writes_what_the_cli_writes(built):
    base, result, out = built
    spec = recdsl.check(DIN)
    assert result.out == base / "api"
    assert sorted(p.name for p in result.files) == sorted(p.name for p in (base / "cli").iterdir())
    for name in ("graph.json", "summary.txt"):
        assert (base / "api" / name).read_text() == (base / "cli" / name).read_text()
    assert result.summary in out
    assert result.summary.splitlines()[-1] == f"trainable parameters: {spec.total_params:,}"


def test_emit_and_load_model_count_the_same_parameters(built):
    base, _, _ = built
    spec = recdsl.check(DIN)
    model = recdsl.emit(spec)
    assert model.count_params() == recdsl.load_model(base / "api" / "model.keras").count_params()
    assert sum(w.numpy().size for w in model.trainable_weights) == spec.total_params


def test_export_into_a_full_folder_is_a_usage_error(built, tmp_path):
    base, _, _ = built
    (tmp_path / "keep").write_text("keep")
    with pytest.raises(UsageError) as info:
        recdsl.export(base / "api", tmp_path)
    code, _, err = call(["export", base / "api", "-o", tmp_path])
    assert (code, err) == (info.value.exit_code, f"recdsl: error: {info.value.render()}\n") == (2, err)


@pytest.mark.slow
def test_train_from_text_then_score_raw_rows_in_python(tmp_path):
    """A spec given as text trains; the run's model.keras holds no optimizer state (about 4 bytes a
    parameter, where Adam's moments made it 3x), checkpoints/best.keras is the same file on disk,
    and load_run(...).predict(rows) gives `recdsl predict`'s scores for the same rows."""
    pytest.importorskip("tensorflow")
    pq = pytest.importorskip("pyarrow.parquet")
    from .training.test_train_cli import SPEC, click_log

    text = SPEC.replace("id(buckets=50, dim=4)", "id(buckets=40000, dim=8)")  # 320k parameters: sizes show
    train, valid = tmp_path / "train.parquet", tmp_path / "valid.parquet"
    pq.write_table(click_log(300, 1), train)
    pq.write_table(click_log(100, 2), valid)

    result = recdsl.train(text, train=train, valid=valid, out=tmp_path / "run", epochs=2, batch_size=64,
                          jit_compile="off")
    run_dir = result.run_dir
    assert run_dir == tmp_path / "run" and (run_dir / "spec.rec").read_text() == text
    metrics = recdsl.evaluate(run_dir, valid)
    assert metrics["click"]["auc"] == pytest.approx(result.metrics["valid"]["click"]["auc"], abs=1e-6)

    run = recdsl.load_run(run_dir)
    params = run.model.count_params()
    assert params > 320_000
    size = (run_dir / "model.keras").stat().st_size
    assert 4 * params < size < 4 * params * 1.05 + 60_000, (size, params)
    assert (run_dir / "checkpoints" / "best.keras").samefile(run_dir / "model.keras")
    assert not (run_dir / "backup").exists()

    rows = click_log(100, 2).to_pylist()
    scores = run.predict(rows)
    written = recdsl.predict(run_dir, valid, tmp_path / "scores.parquet")
    np.testing.assert_allclose(scores["click"], pq.read_table(written).column("click").to_numpy(), rtol=1e-6)
    columns = {name: [row[name] for row in rows[:5]] for name in ("item", "cat", "hist")}
    np.testing.assert_allclose(run.predict(columns)["click"], scores["click"][:5], rtol=1e-6)
    inputs = run.inputs(rows[:3])
    assert sorted(inputs) == sorted(t.name for t in run.model.inputs)
    assert all(len(v) == 3 for v in inputs.values())
    with pytest.raises(RecdslError, match="column 'cat' is missing"):
        run.predict([{"item": 3, "hist": [1, 2]}])
    with pytest.raises(RecdslError, match="is not empty") as info:
        recdsl.train(text, train=train, out=run_dir)
    assert info.value.exit_code == 2  # an existing output (README: exit codes)


# --- specs as text and dicts ----------------------------------------------------------------

YAML_TEXT = """model: tiny
spec:
  item: {feature: id, buckets: 50, dim: 4}
  click: {output: sigmoid, args: [item]}
"""


def test_a_spec_is_a_path_rec_text_yaml_text_or_a_dict(tmp_path):
    (tmp_path / "tiny.yaml").write_text(YAML_TEXT)
    from_path = recdsl.check(tmp_path / "tiny.yaml")
    rec_text = "model tiny\nfeature item : id(buckets=50, dim=4)\noutput click = sigmoid(item)\n"
    as_dict = {"model": "tiny", "spec": {"item": {"feature": "id", "buckets": 50, "dim": 4},
                                         "click": {"output": "sigmoid", "args": ["item"]}}}
    for spec in (rec_text, YAML_TEXT, as_dict, str(tmp_path / "tiny.yaml")):
        checked = recdsl.check(spec)
        assert (checked.name, checked.total_params) == (from_path.name, from_path.total_params) == ("tiny", 213)
    assert recdsl.dependency_graph(rec_text).number_of_nodes() == len(from_path.nodes)


def test_errors_in_spec_text_show_the_line_and_a_caret():
    with pytest.raises(SpecErrors) as info:
        recdsl.check(BAD)
    assert info.value.render() == ("<string>:2:24: error: `buckets` must be at least 1, got 0\n"
                                   "2 | feature a : id(buckets=0)\n"
                                   "                           ^\n"
                                   "  = hint: hash buckets")
    with pytest.raises(SpecErrors) as info:
        recdsl.check({"model": "m", "spec": {"a": {"feature": "id", "buckets": 0},
                                             "o": {"output": "sigmoid", "args": ["a"]}}})
    assert info.value.render() == ("<dict>:5:14: error: `buckets` must be at least 1, got 0\n"
                                   "5 |     buckets: 0\n"
                                   "                 ^\n"
                                   "  = hint: hash buckets")


# --- keras.saving.load_model after import recdsl ----------------------------------------------

_LOAD = {
    "recdsl first": "import sys, recdsl\n"
                    "assert 'keras' not in sys.modules and not [m for m in sys.modules if m.startswith('recdsl.')]\n"
                    "import keras\n",
    "keras first": "import sys, keras, recdsl\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("order", sorted(_LOAD))
def test_keras_load_model_works_after_import_recdsl(built, order):
    """In a fresh Python, in either order (without recdsl, Keras cannot locate 'FeatureEmbedding');
    `import recdsl` itself imports no Keras: the layers register when Keras is imported."""
    base, _, _ = built
    script = _LOAD[order] + "print('LOADED', keras.saving.load_model(sys.argv[1]).count_params())\n"
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", script, str(base / "api" / "model.keras")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == f"LOADED {recdsl.load_model(base / 'api' / 'model.keras').count_params()}"
