"""recdsl.review.text: the exact terminal text and Markdown of known differences, and the JSON
form read back to the same value."""
from __future__ import annotations

import json

import pytest

import recdsl
from recdsl.review.diff import diff_specs
from recdsl.review.text import from_dict, show_value, to_json_text, to_markdown, to_text
from tests.review.test_diff import ADDED_BLOCK
from tests.review.tiny import BASE, checked, edit

RENAMES = edit(BASE, ("output ctr", "output click"), ("block deep = mlp", "block tower = mlp"),
               ("concat(deep,", "concat(tower,"), ("model tiny", "model small"))
UNITS = edit(BASE, ("units=[16, 8]", "units=[16, 4]"))
REMOVED = edit(BASE, ("feature hist    : sequence(of=item_id, max_len=20)\n", ""), ("pool history = avg(hist)\n", ""),
               ("mlp([ids, history, cate, age]", "mlp([ids, cate, age]"), ("concat(deep, history)", "concat(deep, cate)"))


def _diff(tmp_path, new_text):
    return diff_specs(checked(tmp_path, "old.rec", BASE), checked(tmp_path, "new.rec", new_text))


def test_text_of_an_added_block(tmp_path):
    assert to_text(_diff(tmp_path, ADDED_BLOCK)) == (
        "+ wide        block mlp       [B, 4] 40 params; <- [cate, age]; units=[4]\n"
        "~ ctr.concat  block concat    inputs [deep, history] -> [deep, history, wide]; shape [B, 16] -> [B, 20]\n"
        "~ ctr         output sigmoid  params 17 -> 21 (+4)  (upstream)\n"
        "1 added, 1 changed, 1 affected; params 12,825 -> 12,869 (+44)\n")


def test_text_of_changed_units(tmp_path):
    assert to_text(_diff(tmp_path, UNITS)) == (
        "~ deep        block mlp       units [16, 8] -> [16, 4]; shape [B, 8] -> [B, 4]; params 680 -> 612 (-68)\n"
        "~ ctr.concat  block concat    shape [B, 16] -> [B, 12]  (upstream)\n"
        "~ ctr         output sigmoid  params 17 -> 13 (-4)  (upstream)\n"
        "1 changed, 2 affected; params 12,825 -> 12,753 (-72)\n")


def test_text_of_renames_and_a_new_model_name(tmp_path):
    assert to_text(_diff(tmp_path, RENAMES)) == (
        "~ model          tiny -> small\n"
        "> deep -> tower  block mlp\n"
        "> ctr -> click   output sigmoid\n"
        "2 renamed, model name changed; params 12,825 -> 12,825 (+0)\n")


def test_text_of_removed_nodes(tmp_path):
    assert to_text(_diff(tmp_path, REMOVED)) == (
        "- hist        feature sequence  [B, 20, 8] 0 params; of=item_id, max_len=20\n"
        "- history     pool avg          [B, 8] 0 params; <- [hist]\n"
        "~ deep        block mlp         inputs [ids, history, cate, age] -> [ids, cate, age]; params 680 -> 552 (-128)\n"
        "~ ctr.concat  block concat      inputs [deep, history] -> [deep, cate]\n"
        "2 removed, 2 changed; params 12,825 -> 12,697 (-128)\n")


def test_the_same_specs_print_nothing(tmp_path):
    assert to_text(_diff(tmp_path, BASE)) == ""
    assert to_markdown(_diff(tmp_path, BASE)) == "**tiny**: no semantic difference (12,825 params).\n"


def test_colour_marks_each_line_by_its_change(tmp_path):
    text = to_text(_diff(tmp_path, ADDED_BLOCK), colour=True)
    lines = text.splitlines()
    assert lines[0].startswith("\x1b[32m+ wide") and lines[1].startswith("\x1b[33m~ ctr.concat")
    assert lines[2].startswith("\x1b[2m~ ctr")
    assert "\x1b[" not in to_text(_diff(tmp_path, ADDED_BLOCK))


def test_markdown_summary_and_table(tmp_path):
    assert to_markdown(_diff(tmp_path, ADDED_BLOCK)) == (
        "**tiny**: 1 added, 1 changed, 1 affected; params 12,825 → 12,869 (+44)\n"
        "\n"
        "| | node | op | change | shape | params |\n"
        "|---|---|---|---|---|---|\n"
        "| + | `wide` | block mlp | added; <- [cate, age]; units=[4] | [B, 4] | 40 |\n"
        "| ~ | `ctr.concat` | block concat | changed; inputs [deep, history] → [deep, history, wide] "
        "| [B, 16] → [B, 20] | 0 |\n"
        "| ~ | `ctr` | output sigmoid | affected | [B, 1] | 17 → 21 (+4) |\n")


def test_markdown_lists_model_changes_and_renames(tmp_path):
    assert to_markdown(_diff(tmp_path, RENAMES)) == (
        "**tiny → small**: 2 renamed, model name changed; params 12,825 → 12,825 (+0)\n"
        "\n"
        "- model: tiny → small\n"
        "\n"
        "| | node | op | change | shape | params |\n"
        "|---|---|---|---|---|---|\n"
        "| > | `deep` → `tower` | block mlp | renamed | [B, 8] | 680 |\n"
        "| > | `ctr` → `click` | output sigmoid | renamed | [B, 1] | 17 |\n")


def test_markdown_escapes_a_pipe_in_a_doc_string(tmp_path):
    text = to_markdown(_diff(tmp_path, edit(BASE, ('"a small ranking model"', '"a | b"'))))
    assert '- doc: "a small ranking model" → "a \\| b"' in text


@pytest.mark.parametrize("new", [ADDED_BLOCK, UNITS, RENAMES, REMOVED, BASE])
def test_json_round_trips(tmp_path, new):
    diff = _diff(tmp_path, new)
    text = to_json_text(diff)
    data = json.loads(text)
    assert from_dict(data) == diff
    assert data["format"] == "recdsl-diff/1" and data["same"] == diff.same
    assert data["params"] == {"old": diff.old_params, "new": diff.new_params, "delta": diff.param_delta}
    assert to_json_text(from_dict(data)) == text


def test_json_keys_are_stable(tmp_path):
    data = json.loads(to_json_text(_diff(tmp_path, UNITS)))
    assert list(data) == sorted(["format", "same", "model", "doc", "params", "changes", "renames", "edges"])
    assert list(data["changes"][0]) == sorted([
        "change", "name", "kind", "op", "old_name", "old_kind", "old_op", "args", "old_inputs", "inputs",
        "old_shape", "shape", "old_params", "params", "anonymous"])
    assert data["changes"][0]["args"] == [{"name": "units", "old": [16, 8], "new": [16, 4]}]


def test_json_of_the_bundled_din_pair():
    data = json.loads(to_json_text(diff_specs(recdsl.check("specs/din_avg.rec"), recdsl.check("specs/din.rec"))))
    assert data["params"] == {"old": 2_045_894, "new": 2_059_615, "delta": 13_721}
    assert [(c["change"], c["name"], c["old_op"], c["op"]) for c in data["changes"]] == [
        ("changed", "interest", "avg", "din")]


def test_values_are_written_as_in_a_spec():
    assert show_value({"op": "poso", "by": ["user_id", "age"], "units": 16, "scale": 2.0}) == \
        "poso(by=[user_id, age], units=16)"  # scale=2.0 is poso's default
    assert show_value(100_000) == "100_000" and show_value(True) == "true" and show_value(None) == "-"
