"""The `recdsl` command: exit codes 0/1/2, check output and --table, convert both ways, no
tracebacks for user mistakes, and no TensorFlow/Keras import on the fast paths."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import recdsl
from recdsl.cli.main import main
from recdsl.lang.parser import parse

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.rec"))
DIN = ROOT / "specs" / "din.rec"
GOOD = "model m\nfeature a : id(buckets=10)\noutput o = sigmoid(a)\n"
BAD = "model m\nfeature a : id(buckets=0)\noutput o = sigmoid(a)\n"


def spec_file(tmp_path: Path, text: str, name: str = "spec.rec") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def exit_code(argv) -> int:
    """main() returns its code, except where argparse exits on its own."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


# --- check ----------------------------------------------------------------------------------

def test_check_ok_exits_0(capsys):
    spec = recdsl.typecheck(DIN)
    assert main(["check", str(DIN)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{DIN}: ok — model din_ctr, {len(spec.nodes)} nodes, {spec.total_params:,} parameters\n"
    assert err == ""


def test_check_all_examples_at_once(capsys):
    assert main(["check", *map(str, SPECS)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok — model ") == len(SPECS)


def test_check_invalid_exits_1(tmp_path, capsys):
    path = spec_file(tmp_path, BAD)
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{path}:2:24: error: `buckets` must be at least 1, got 0\n2 | feature a : id(buckets=0)\n")
    assert "Traceback" not in err


def test_check_reports_every_file_and_fails_if_any_fails(tmp_path, capsys):
    good, bad = spec_file(tmp_path, GOOD, "good.rec"), spec_file(tmp_path, BAD, "bad.rec")
    assert main(["check", str(bad), str(good)]) == 1
    out, err = capsys.readouterr()
    assert f"{good}: ok — model m, 2 nodes" in out
    assert f"{bad}:2:24: error:" in err


def test_check_quiet_prints_only_errors(tmp_path, capsys):
    good = spec_file(tmp_path, GOOD.replace("output", "feature spare : id(buckets=3)\noutput"))
    assert main(["check", "-q", str(good)]) == 0
    assert capsys.readouterr() == ("", "")


def test_check_prints_warnings_and_still_exits_0(tmp_path, capsys):
    path = spec_file(tmp_path, GOOD + "feature spare : id(buckets=3)\n")
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    total = (10 + 2) * 16 + (3 + 2) * 16 + (16 + 1)
    assert out == f"{path}: ok — model m, 3 nodes, {total} parameters, 1 warning\n"
    assert f"{path}:4:9: warning: feature `spare` is never used" in err
    assert "4 | feature spare : id(buckets=3)" in err


def test_check_table(capsys):
    assert main(["check", "--table", str(DIN)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{DIN}: ok")
    assert lines[1].split() == ["node", "kind", "op", "output", "shape", "params"]
    assert set(lines[2].replace(" ", "")) == {"-"}
    end = lines.index(f"total parameters: {recdsl.typecheck(DIN).total_params:,}")
    rows = {ln.split()[0]: ln for ln in lines[3:end]}
    assert list(rows) == [n.name for n in recdsl.typecheck(DIN).nodes]
    assert rows["interest"].split() == ["interest", "pool", "din", "[B,", "32]", "13,721"]
    assert rows["hist_items"].split() == ["hist_items", "feature", "sequence", "[B,", "50,", "16]", "0"]
    assert rows["user_id"].endswith("1,600,032")
    widths = {len(ln) for ln in lines[1:end]}
    assert len(widths) == 1  # params are right-aligned in one column
    tables = {ln.split()[0]: ln.split() for ln in lines[end + 3:-1]}  # then each table's rows and bytes
    assert lines[end + 1].split() == ["table", "rows", "dim", "bytes"]
    assert tables["user_id"] == ["user_id", "100,002", "16", "6.1", "MiB"]  # 100,002 * 16 * 4 bytes
    assert tables["gender"] == ["gender", "4", "16", "256", "bytes"]
    assert lines[-1] == "embedding tables: 7.3 MiB"


# --- usage errors (exit 2) ------------------------------------------------------------------

def test_missing_file_exits_2_without_traceback(tmp_path, capsys):
    missing = tmp_path / "nope.rec"
    assert main(["check", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"recdsl: error: no such spec file: {missing}\n"


@pytest.mark.parametrize("command", [["render"], ["graph"], ["graph", "--json"], ["convert", "--to", "yaml"]])
def test_missing_file_exits_2_for_every_command(tmp_path, capsys, command):
    missing = tmp_path / "nope.rec"
    assert main([*command, str(missing)]) == 2
    err = capsys.readouterr().err
    assert "no such spec file" in err and "Traceback" not in err


def test_a_directory_is_a_usage_error(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recdsl: error: ") and "Traceback" not in err


@pytest.mark.parametrize("argv", [[], ["check"], ["frobnicate", "x.rec"], ["check", "--nope", "x.rec"],
                                  ["convert", str(DIN)], ["convert", str(DIN), "--to", "json"]])
def test_bad_arguments_exit_2(capsys, argv):
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert "usage: recdsl" in err and "Traceback" not in err


def test_version_exits_0(capsys):
    assert exit_code(["--version"]) == 0
    assert capsys.readouterr().out == f"recdsl {recdsl.__version__}\n"


def test_help_exits_0(capsys):
    assert exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("check", "render", "graph", "convert"):
        assert command in out


# --- internal errors ------------------------------------------------------------------------

def test_a_bug_is_exit_3_with_a_report_hint_and_debug_shows_it(monkeypatch, capsys):
    def boom(path):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(recdsl, "typecheck", boom)
    assert main(["check", str(DIN)]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaboom" in err and "--debug" in err and "Traceback" not in err
    with pytest.raises(RuntimeError, match="kaboom"):
        main(["--debug", "check", str(DIN)])


def test_non_utf8_file_is_a_clean_error(tmp_path, capsys):
    path = tmp_path / "latin1.rec"
    path.write_bytes(b'model m "caf\xe9"\nfeature a : id(buckets=10)\noutput o = sigmoid(a)\n')
    code = main(["check", str(path)])
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert str(path) in err and "internal error" not in err


# --- convert --------------------------------------------------------------------------------

def test_convert_to_yaml(capsys):
    assert main(["convert", str(DIN), "--to", "yaml"]) == 0
    out = capsys.readouterr().out
    data = yaml.safe_load(out)
    assert data["model"] == "din_ctr"
    assert data["doc"] == "CTR ranking with user-interest attention"
    assert list(data["spec"]) == [st.name for st in recdsl.load(DIN).statements]


def test_convert_to_rec(capsys):
    assert main(["convert", str(DIN), "--to", "rec"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# din.rec — DIN over the click sequence")  # comments are kept (recdsl fmt)
    assert '\nmodel din_ctr "CTR ranking with user-interest attention"\n' in out
    assert parse(out) == recdsl.load(DIN)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_convert_round_trip_through_files(tmp_path, capsys, path):
    as_yaml, as_rec = tmp_path / f"{path.stem}.yaml", tmp_path / f"{path.stem}.rec"
    if (path.parent / "genres.txt").exists():
        (tmp_path / "genres.txt").write_text((path.parent / "genres.txt").read_text())
    assert main(["convert", str(path), "--to", "yaml", "-o", str(as_yaml)]) == 0
    assert main(["convert", str(as_yaml), "--to", "rec", "-o", str(as_rec)]) == 0
    assert capsys.readouterr().out == f"wrote {as_yaml}\nwrote {as_rec}\n"
    assert recdsl.load(as_yaml) == recdsl.load(path) == recdsl.load(as_rec)
    original, converted = recdsl.typecheck(path), recdsl.typecheck(as_yaml)
    assert converted.total_params == original.total_params
    assert main(["check", "-q", str(as_yaml), str(as_rec)]) == 0


def test_convert_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = spec_file(tmp_path, "keep", "out.yaml")
    assert main(["convert", str(DIN), "--to", "yaml", "-o", str(out)]) == 2
    assert out.read_text() == "keep"
    assert "--force" in capsys.readouterr().err
    assert main(["convert", str(DIN), "--to", "yaml", "-o", str(out), "--force"]) == 0
    assert out.read_text().startswith("model: din_ctr")


def test_convert_of_a_broken_spec_exits_1(tmp_path, capsys):
    path = spec_file(tmp_path, "model m\nfeature a : id(buckets=10\n")
    assert main(["convert", str(path), "--to", "yaml"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2:" in err and "^" in err and "Traceback" not in err


# --- no TensorFlow on the fast paths ----------------------------------------------------------

_NO_TF = """
import sys
from recdsl.cli.main import main
out = sys.argv[1]
assert main(["check", "specs/din.rec", "specs/attention.rec"]) == 0
assert main(["check", "--table", "specs/dcn.rec"]) == 0
assert main(["render", "specs/din.rec", "-o", out + "/din.svg"]) == 0
assert main(["render", "specs/multitask.rec", "-o", out + "/multitask.dot"]) == 0
assert main(["graph", "--json", "specs/din.rec"]) == 0
assert main(["convert", "specs/din.rec", "--to", "yaml"]) == 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "jax", "torch"))
assert not heavy, heavy
print("NO-TF-OK")
"""


def test_check_render_graph_convert_never_import_tensorflow_or_keras(tmp_path):
    done = subprocess.run([sys.executable, "-c", _NO_TF, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("NO-TF-OK")
    assert (tmp_path / "din.svg").exists() or "not installed" in done.stderr


def test_the_module_entry_point_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "recdsl.cli", "check", "specs/din.rec"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("specs/din.rec: ok — model din_ctr, ")
    bad = spec_file(tmp_path, BAD)
    done = subprocess.run([sys.executable, "-m", "recdsl.cli", "check", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"{bad}:2:24: error:" in done.stderr and "Traceback" not in done.stderr
