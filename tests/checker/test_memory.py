"""check knows the bytes of every table and of the model (float32, 4 bytes a parameter) and refuses
what cannot be built: a table past int32 row ids, a node or a model over the machine's memory; it
warns when training would need more than the memory holds. Nothing is allocated, nothing heavy imported."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import recdsl
from recdsl.checker import memory
from recdsl.checker.memory import BYTES_PER_PARAM, MAX_TABLE_ROWS, size_text
from recdsl.lang.errors import SpecErrors

ROOT = Path(__file__).resolve().parents[2]
GIB = 2**30


@pytest.fixture()
def limit(monkeypatch):
    """A machine with 16 GiB of memory, whatever this one has."""
    monkeypatch.setattr(memory, "memory_limit", lambda: 16 * GIB)
    return 16 * GIB


def check_text(tmp_path: Path, text: str):
    path = tmp_path / "big.rec"
    path.write_text(text)
    return recdsl.typecheck(path)


def failing(tmp_path: Path, text: str) -> SpecErrors:
    with pytest.raises(SpecErrors) as info:
        check_text(tmp_path, text)
    return info.value


def test_size_text():
    assert [size_text(n) for n in (0, 1023, 1536, 16 * GIB, 4 * 10**12 * 4)] == [
        "0 bytes", "1,023 bytes", "1.5 KiB", "16.0 GiB", "14.6 TiB"]


def test_a_table_past_int32_row_ids_is_refused_on_the_feature(tmp_path, limit):
    problems = failing(tmp_path, "model m\nfeature user_id : id(buckets=1000000M, dim=4)\noutput o = sigmoid(user_id)\n")
    (error,) = problems.errors
    assert (error.span.line, error.span.column, error.span.end_column) == (2, 9, 16)
    assert error.message == ("`user_id`'s embedding table has 1,000,000,000,002 rows (14.6 TiB of float32 weights); "
                             f"row ids are int32, so a table has at most {MAX_TABLE_ROWS:,} rows")
    assert "fewer buckets" in error.hint
    assert "big.rec:2:9: error: `user_id`'s embedding table" in problems.render()


def test_the_row_limit_holds_for_an_inline_table_and_a_category_size(tmp_path, limit):
    problems = failing(tmp_path, "model m\nfeature a : category(size=2147483645, dim=1)\n"  # exactly the limit
                                 "feature g : multi(id(buckets=3000000000, dim=1), max_len=3)\n"
                                 "output o = sigmoid(concat(a, avg(g)))\n")
    assert [(e.span.line, e.message.split(";")[0]) for e in problems.errors] == [
        (3, "`g`'s embedding table has 3,000,000,002 rows (11.2 GiB of float32 weights)")]


def test_a_table_over_the_memory_is_refused_naming_its_bytes(tmp_path, limit):
    problems = failing(tmp_path, "model m\nfeature a : id(buckets=10)\nfeature big : id(buckets=100000, dim=100000)\n"
                                 "output o = sigmoid(concat(a, big))\n")
    (error,) = problems.errors
    assert (error.span.line, error.span.column) == (3, 9)
    assert error.message == ("`big`'s embedding table takes 37.3 GiB (10,000,200,000 float32 parameters), "
                             "more than the 16.0 GiB of memory here")


def test_any_node_over_the_memory_is_refused(tmp_path, limit):
    problems = failing(tmp_path, "model m\nfeature a : numeric(size=100000)\n"
                                 "block d = mlp(a, units=[100000])\noutput o = sigmoid(d)\n")
    (error,) = problems.errors
    assert (error.span.line, error.message) == (
        3, "`d`'s weights take 37.3 GiB (10,000,100,000 float32 parameters), more than the 16.0 GiB of memory here")


def test_a_model_over_the_memory_is_refused_on_its_header(tmp_path, limit):
    features = "".join(f"feature f{i} : id(buckets=100_000_000, dim=16)\n" for i in range(3))  # 6 GiB each
    problems = failing(tmp_path, f"model m\n{features}output o = sigmoid(concat(f0, f1, f2))\n")
    (error,) = problems.errors
    assert (error.span.line, error.span.column) == (1, 1)
    assert error.message == ("the model's weights take 17.9 GiB (4,800,000,145 float32 parameters), "
                             "more than the 16.0 GiB of memory here")
    assert "the largest is `f0` (6.0 GiB)" in error.hint


def test_a_model_that_fits_but_not_for_training_is_a_warning(tmp_path, limit):
    spec = check_text(tmp_path, "model m\nfeature a : id(buckets=100_000_000, dim=16)\noutput o = sigmoid(a)\n")
    (warning,) = spec.warnings
    assert (warning.severity, warning.span.line) == ("warning", 1)
    assert warning.message.startswith("the model's weights take 6.0 GiB (1,600,000,049 float32 parameters); "
                                      "training with Adam needs about 4x that (23.8 GiB)")
    assert spec.total_params * BYTES_PER_PARAM > limit * memory.WARN_FRACTION


def test_the_cli_prints_the_warning_and_exits_0(tmp_path, limit, capsys):
    from recdsl.cli.main import main

    path = tmp_path / "big.rec"
    path.write_text("model m\nfeature a : id(buckets=100_000_000, dim=16)\noutput o = sigmoid(a)\n")
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"{path}:1:1: warning: the model's weights take 6.0 GiB" in err and "1 warning" in out


def test_shared_tables_count_once(tmp_path, limit):
    spec = check_text(tmp_path, "model m\nfeature a : id(buckets=50_000_000, dim=16)\n"
                                "feature s : sequence(of=a, max_len=100)\noutput o = sigmoid(concat(a, avg(s)))\n")
    assert spec.node("s").params == 0 and not spec.warnings


@pytest.mark.parametrize("path", sorted((ROOT / "specs").glob("*.rec")) + sorted((ROOT / "examples").glob("*/*.rec")),
                         ids=lambda p: p.stem)
def test_bundled_specs_are_far_from_every_limit(path):
    spec = recdsl.typecheck(path)
    assert not [w for w in spec.warnings if "memory" in w.message]
    assert spec.total_params * BYTES_PER_PARAM < memory.memory_limit() * memory.WARN_FRACTION


def test_the_memory_limit_is_the_machines_or_a_fixed_cap(monkeypatch, tmp_path):
    assert memory.memory_limit() > 0
    monkeypatch.setattr(memory, "CGROUP_MEMORY", tmp_path / "absent")

    def no_sysconf(name):
        raise ValueError(name)

    monkeypatch.setattr(memory.os, "sysconf", no_sysconf)
    assert memory.physical_memory() is None and memory.memory_limit() == memory.FALLBACK_MEMORY
    (tmp_path / "memory.max").write_text("8589934592\n")
    monkeypatch.setattr(memory, "CGROUP_MEMORY", tmp_path / "memory.max")
    assert memory.memory_limit() == 8 * GIB
    (tmp_path / "memory.max").write_text("max\n")
    assert memory.memory_limit() == memory.FALLBACK_MEMORY


_NO_HEAVY = """
import sys
import recdsl
from recdsl.lang.errors import SpecErrors
try:
    recdsl.check(sys.argv[1])
except SpecErrors as e:
    print(e.errors[0].message)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "tensorflow", "keras", "jax", "torch"))
assert not heavy, heavy
"""


def test_checking_a_huge_model_allocates_and_imports_nothing_heavy(tmp_path):
    path = tmp_path / "huge.rec"
    path.write_text("model m\nfeature a : id(buckets=100000, dim=100000)\nfeature b : id(buckets=1000000M)\n"
                    "output o = sigmoid(concat(a, b))\n")
    done = subprocess.run([sys.executable, "-c", _NO_HEAVY, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "embedding table" in done.stdout
