"""`recdsl diff` through the command line: exit codes 0 same, 1 different, 2 error; the three
formats; the diagram and its refusal to overwrite; colour only on a terminal without NO_COLOR."""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

from recdsl.cli.main import main
from tests.cli_call import call
from tests.review.test_diff import ADDED_BLOCK
from tests.review.test_text import UNITS
from tests.review.tiny import BASE, edit, write

BROKEN = edit(BASE, ("mlp([ids, history, cate, age]", "mlp([ids, histroy, cate, age]"))


def _pair(tmp_path, new_text, old_text=BASE):
    return write(tmp_path, "old.rec", old_text), write(tmp_path, "new.rec", new_text)


def test_the_same_spec_exits_0_and_prints_nothing(tmp_path):
    reordered = edit(BASE, ("group ids = [user_id, item_id]\npool history = avg(hist)",
                            "pool history = avg(hist)   # moved\ngroup ids = [user_id, item_id]"))
    assert call(["diff", *_pair(tmp_path, reordered)]) == (0, "", "")


def test_a_difference_exits_1_with_the_text(tmp_path):
    code, out, err = call(["diff", *_pair(tmp_path, UNITS)])
    assert code == 1 and err == ""
    assert out.splitlines()[0] == (
        "~ deep        block mlp       units [16, 8] -> [16, 4]; shape [B, 8] -> [B, 4]; params 680 -> 612 (-68)")
    assert out.splitlines()[-1] == "1 changed, 2 affected; params 12,825 -> 12,753 (-72)"


def test_markdown_and_json_formats(tmp_path):
    old, new = _pair(tmp_path, ADDED_BLOCK)
    code, out, _ = call(["diff", old, new, "--format", "markdown"])
    assert code == 1 and out.startswith("**tiny**: 1 added, 1 changed, 1 affected; params 12,825 → 12,869 (+44)\n")
    assert "| + | `wide` | block mlp |" in out
    code, out, _ = call(["diff", old, new, "--format", "json"])
    data = json.loads(out)
    assert code == 1 and data["params"]["delta"] == 44 and data["same"] is False
    assert [c["name"] for c in data["changes"]] == ["wide", "ctr.concat", "ctr"]


def test_a_spec_that_does_not_check_exits_2_with_its_located_errors(tmp_path):
    old, new = _pair(tmp_path, BROKEN)
    code, out, err = call(["diff", old, new])
    assert code == 2 and out == ""
    assert err == (f"{new}:13:24: error: undefined name `histroy`\n"
                   "13 | block deep = mlp([ids, histroy, cate, age], units=[16, 8])\n"
                   + " " * (len("13 | ") + 23) + "^^^^^^^\n"
                   "  = hint: did you mean `history`?\n\n1 error; nothing compared\n")


def test_both_broken_specs_are_reported(tmp_path):
    old, new = _pair(tmp_path, BROKEN, BROKEN)
    code, _, err = call(["diff", old, new])
    assert code == 2 and f"{old}:13:24:" in err and f"{new}:13:24:" in err and "2 errors" in err


def test_a_missing_spec_exits_2(tmp_path):
    code, out, err = call(["diff", tmp_path / "nope.rec", write(tmp_path, "a.rec", BASE)])
    assert (code, out) == (2, "") and err == f"recdsl: error: no such spec file: {tmp_path / 'nope.rec'}\n"


def test_the_diagram_is_written_and_never_overwritten_without_force(tmp_path):
    old, new = _pair(tmp_path, ADDED_BLOCK)
    out = tmp_path / "diff.dot"
    code, text, err = call(["diff", old, new, "-o", out])
    assert code == 1 and err == f"wrote {out}\n" and text.startswith("+ wide")
    assert "class=added" in out.read_text(encoding="utf-8")
    out.write_text("mine", encoding="utf-8")
    code, text, err = call(["diff", old, new, "-o", out])
    assert (code, text) == (2, "") and err == f"recdsl: error: {out} exists; pass --force to overwrite it\n"
    assert out.read_text(encoding="utf-8") == "mine"
    assert call(["diff", old, new, "-o", out, "--force"])[0] == 1
    assert "class=added" in out.read_text(encoding="utf-8")


def test_an_unknown_diagram_format_exits_2(tmp_path):
    code, _, err = call(["diff", *_pair(tmp_path, UNITS), "-o", tmp_path / "diff.txt"])
    assert code == 2 and "unknown diagram format '.txt'" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _on_terminal(argv) -> str:
    out = _Terminal()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main([str(a) for a in argv])
    return out.getvalue()


def test_colour_only_on_a_terminal_without_no_color(tmp_path, monkeypatch):
    pair = _pair(tmp_path, UNITS)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _on_terminal(["diff", *pair]).startswith("\x1b[33m~ deep")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in _on_terminal(["diff", *pair])
    monkeypatch.delenv("NO_COLOR")
    assert "\x1b[" not in call(["diff", *pair])[1]  # not a terminal


def test_the_bundled_din_pair(tmp_path):
    code, out, _ = call(["diff", "specs/din_avg.rec", "specs/din.rec"])
    assert code == 1 and out.splitlines()[-1] == (
        "1 changed, model name and doc changed; params 2,045,894 -> 2,059,615 (+13,721)")
    assert call(["diff", "specs/din.rec", "specs/din.rec"]) == (0, "", "")


def test_a_spec_and_its_yaml_form_are_the_same(tmp_path):
    rec = write(tmp_path, "tiny.rec", BASE)
    assert call(["convert", rec, "--to", "yaml", "-o", tmp_path / "tiny.rec.yaml"])[0] == 0
    assert call(["diff", rec, tmp_path / "tiny.rec.yaml"]) == (0, "", "")
    code, out, _ = call(["diff", tmp_path / "tiny.rec.yaml", write(tmp_path, "units.rec", UNITS)])
    assert code == 1 and out.startswith("~ deep ")


def test_diff_never_imports_tensorflow_or_keras(tmp_path):
    old, new = _pair(tmp_path, UNITS)
    program = ("import sys; from recdsl.cli.main import main; "
               f"code = main(['diff', {str(old)!r}, {str(new)!r}, '-o', {str(tmp_path / 'd.dot')!r}]); "
               "heavy = sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules); "
               "print(code, heavy)")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1] == "1 []", result.stderr
