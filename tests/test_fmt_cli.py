"""`recdsl fmt` (in place, --check, --diff, errors, folders) and `recdsl schema`, run in-process."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from recdsl.lang.json_schema import spec_schema
from recdsl.lang.parser import parse
from tests.cli_call import call

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "specs").glob("*.rec")) + sorted((ROOT / "examples").rglob("*.rec"))

MESSY = "# a tiny model\nmodel m\nfeature a:id(buckets=5)  # hashed\nfeature long_name : id(buckets=5)\n" \
        "block b = mlp([a, long_name],  # both\n units=[8])\n"
TIDY = "# a tiny model\nmodel m\n\nfeature a         : id(buckets=5)  # hashed\nfeature long_name : id(buckets=5)\n\n" \
       "block b = mlp(\n    [a, long_name],  # both\n    units=[8],\n)\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_fmt_rewrites_in_place_and_then_leaves_the_file_alone(tmp_path):
    path = write(tmp_path, "m.rec", MESSY)
    code, out, err = call(["fmt", path])
    assert (code, out) == (0, "")
    assert err == f"reformatted {path}\n1 file reformatted\n"
    assert path.read_text(encoding="utf-8") == TIDY
    assert call(["fmt", path]) == (0, "", "1 file left unchanged\n")
    assert path.read_text(encoding="utf-8") == TIDY


def test_fmt_check_lists_what_would_change_and_writes_nothing(tmp_path):
    messy, tidy = write(tmp_path, "messy.rec", MESSY), write(tmp_path, "tidy.rec", TIDY)
    code, out, err = call(["fmt", "--check", messy, tidy])
    assert (code, out) == (1, "")
    assert err == f"would reformat {messy}\n1 file would be reformatted, 1 file would be left unchanged\n"
    assert messy.read_text(encoding="utf-8") == MESSY
    assert call(["fmt", "--check", tidy]) == (0, "", "1 file would be left unchanged\n")


def test_fmt_diff_prints_a_unified_diff_and_writes_nothing(tmp_path):
    path = write(tmp_path, "m.rec", MESSY)
    code, out, err = call(["fmt", "--diff", path])
    assert code == 0 and path.read_text(encoding="utf-8") == MESSY
    assert out.startswith(f"--- {path}\n+++ {path} (formatted)\n@@ ")
    assert "-feature a:id(buckets=5)  # hashed\n" in out
    assert "+feature a         : id(buckets=5)  # hashed\n" in out
    assert err == f"would reformat {path}\n1 file would be reformatted\n"
    assert call(["fmt", "--check", "--diff", path])[0] == 1


def test_a_file_that_does_not_parse_is_reported_and_the_others_are_formatted(tmp_path):
    bad = write(tmp_path, "bad.rec", "model m\nfeature a : id(buckets=5\nfeature b : id(buckets=5)\n")
    good = write(tmp_path, "good.rec", MESSY)
    code, out, err = call(["fmt", bad, good])
    assert code == 1
    assert err.startswith(f"{bad}:2:25: error: the statement ends too early\n2 | feature a : id(buckets=5\n")
    assert f"reformatted {good}\n" in err and err.endswith("1 file reformatted, 1 file failed to format\n")
    assert "Traceback" not in err
    assert good.read_text(encoding="utf-8") == TIDY
    assert bad.read_text(encoding="utf-8").startswith("model m\nfeature a : id(buckets=5\n")


def test_yaml_specs_and_missing_files_are_refused(tmp_path):
    spec = write(tmp_path, "m.yaml", "model: m\n")
    code, out, err = call(["fmt", spec, tmp_path / "nope.rec"])
    assert code == 2
    assert f"recdsl: error: {spec}: fmt formats .rec files, not YAML specs\n" in err
    assert f"hint: for the .rec form of this spec: recdsl convert {spec} --to rec -o {tmp_path / 'm.rec'}" in err
    assert f"recdsl: error: no such spec file: {tmp_path / 'nope.rec'}\n" in err
    assert spec.read_text() == "model: m\n"


def test_fmt_finds_the_rec_files_in_a_folder(tmp_path):
    first, second = write(tmp_path, "a.rec", MESSY), write(tmp_path, "sub/b.rec", TIDY)
    write(tmp_path, "sub/c.yaml", "model: m\n")
    code, _, err = call(["fmt", tmp_path])
    assert code == 0 and err == f"reformatted {first}\n1 file reformatted, 1 file left unchanged\n"
    assert first.read_text() == second.read_text() == TIDY


def test_fmt_is_idempotent_on_the_bundled_specs(tmp_path):
    copies = []
    for path in BUNDLED:
        copies.append(tmp_path / path.relative_to(ROOT))
        copies[-1].parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, copies[-1])
    assert call(["fmt", *copies])[0] == 0
    for original, copy in zip(BUNDLED, copies):
        assert parse(copy.read_text(encoding="utf-8")) == parse(original.read_text(encoding="utf-8"))
    assert call(["fmt", "--check", tmp_path]) == (0, "", f"{len(copies)} files would be left unchanged\n")


def test_every_bundled_spec_is_already_formatted(monkeypatch):
    """`recdsl fmt --check specs examples` exits 0: the specs we ship look as the formatter writes them."""
    monkeypatch.chdir(ROOT)
    code, out, err = call(["fmt", "--check", "specs", "examples"])
    assert (code, out) == (0, ""), err
    count = len(list((ROOT / "specs").rglob("*.rec"))) + len(list((ROOT / "examples").rglob("*.rec")))
    assert err == f"{count} files would be left unchanged\n"


def test_fmt_dash_formats_standard_input_to_standard_output(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(MESSY))
    assert call(["fmt", "-"]) == (0, TIDY, "reformatted -\n1 file reformatted\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(TIDY))
    assert call(["fmt", "--check", "-"]) == (0, "", "1 file would be left unchanged\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("model m\nblock b = f(\n"))
    code, out, err = call(["fmt", "-"])
    assert (code, out) == (1, "") and err.startswith("-:2:13: error: the statement ends too early\n")


def test_convert_to_rec_keeps_comments(tmp_path):
    path = write(tmp_path, "m.rec", MESSY)
    assert call(["convert", path, "--to", "rec"]) == (0, TIDY, "")


def test_schema_prints_the_schema_and_writes_it_only_with_force(tmp_path):
    code, out, err = call(["schema"])
    assert (code, err) == (0, "") and json.loads(out) == spec_schema()
    target = write(tmp_path, "spec.schema.json", "keep")
    code, _, err = call(["schema", "-o", target])
    assert code == 2 and "--force" in err and target.read_text() == "keep"
    assert call(["schema", "-o", target, "--force"]) == (0, "", f"wrote {target}\n")
    assert json.loads(target.read_text(encoding="utf-8")) == spec_schema()


@pytest.mark.parametrize("argv", [["fmt"], ["fmt", "--bogus", "x.rec"]])
def test_fmt_usage_errors_exit_2(argv):
    assert call(argv)[0] == 2
