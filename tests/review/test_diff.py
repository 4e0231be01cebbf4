"""recdsl.review.diff: the change list between pairs of specs with known differences. Every
parameter count is computed by hand from the formulas in tests/review/tiny.py."""
from __future__ import annotations

from pathlib import Path

import recdsl
from recdsl.lang.yamlform import dump_yaml
from recdsl.review.diff import ArgChange, Edge, NodeChange, diff_specs
from tests.review.tiny import BASE, BASE_PARAMS, checked, edit, write

ADDED_BLOCK = edit(BASE, ("output ctr = sigmoid(concat(deep, history))",
                          "block wide = mlp([cate, age], units=[4])\n"
                          "output ctr = sigmoid(concat(deep, history, wide))"))


def _diff(tmp_path, new_text, old_text=BASE):
    return diff_specs(checked(tmp_path, "old.rec", old_text), checked(tmp_path, "new.rec", new_text))


def test_the_tiny_spec_counts_as_its_docstring_says(tmp_path):
    assert checked(tmp_path, "base.rec", BASE).total_params == BASE_PARAMS


def test_identical_specs_are_the_same(tmp_path):
    diff = _diff(tmp_path, BASE)
    assert diff.same and diff.changes == () and diff.param_delta == 0


def test_formatting_comments_argument_and_statement_order_are_no_difference(tmp_path):
    reformatted = """model tiny "a small ranking model"   # the same model, written otherwise
feature cate: category(dim=8, size=10)
feature item_id: id(dim=8, buckets=500)
feature user_id: id(buckets=1_000, dim=8, l2=0.0)
feature hist: sequence(max_len=20, of=item_id)
feature age: numeric(normalize=standard)
pool history = avg(hist)      # moved above the group
group ids = [user_id, item_id]
output ctr = sigmoid(concat(deep, history))
block deep = mlp([ids, history, cate, age], activation=relu, units=[16, 8])
"""
    assert _diff(tmp_path, reformatted).same


def test_the_yaml_form_of_a_spec_is_the_same_spec(tmp_path):
    yaml_path = write(tmp_path, "tiny.rec.yaml", dump_yaml(recdsl.load(write(tmp_path, "tiny.rec", BASE))))
    assert diff_specs(recdsl.check(tmp_path / "tiny.rec"), recdsl.check(yaml_path)).same


def test_an_added_block_counts_its_params_in_the_delta(tmp_path):
    diff = _diff(tmp_path, ADDED_BLOCK)
    # wide: n = 8 (cate) + 1 (age) = 9: 10 * 4 = 40; ctr: concat 8 + 8 + 4 = 20 wide -> 21
    assert diff.changes == (
        NodeChange("added", "wide", "block", "mlp", args=(ArgChange("units", None, [4]),),
                   inputs=(("x", ("cate", "age")),), shape=("B", 4), params=40),
        NodeChange("changed", "ctr.concat", "block", "concat", old_inputs=(("x", ("deep", "history")),),
                   inputs=(("x", ("deep", "history", "wide")),), old_shape=("B", 16), shape=("B", 20),
                   old_params=0, params=0, anonymous=True),
        NodeChange("affected", "ctr", "output", "sigmoid", old_shape=("B", 1), shape=("B", 1),
                   old_params=17, params=21),
    )
    assert diff.param_delta == 40 + 4 and diff.new_params == BASE_PARAMS + 44
    assert diff.edges_added == (Edge("age", "wide", "data"), Edge("cate", "wide", "data"),
                                Edge("wide", "ctr.concat", "data"))
    assert diff.edges_removed == ()


def test_changed_units_change_the_mlp_and_everything_downstream(tmp_path):
    diff = _diff(tmp_path, edit(BASE, ("units=[16, 8]", "units=[16, 4]")))
    # deep: 34 * 16 + 17 * 4 = 612; ctr.concat: 4 + 8 = 12 wide; ctr: 12 + 1 = 13
    assert diff.changes == (
        NodeChange("changed", "deep", "block", "mlp", args=(ArgChange("units", [16, 8], [16, 4]),),
                   old_shape=("B", 8), shape=("B", 4), old_params=680, params=612),
        NodeChange("affected", "ctr.concat", "block", "concat", old_shape=("B", 16), shape=("B", 12),
                   old_params=0, params=0, anonymous=True),
        NodeChange("affected", "ctr", "output", "sigmoid", old_shape=("B", 1), shape=("B", 1),
                   old_params=17, params=13),
    )
    assert diff.param_delta == (612 - 680) + (13 - 17) == -72


def test_a_renamed_block_is_a_rename(tmp_path):
    diff = _diff(tmp_path, edit(BASE, ("block deep = mlp", "block tower = mlp"), ("concat(deep,", "concat(tower,")))
    assert diff.changes == (NodeChange("renamed", "tower", "block", "mlp", old_name="deep", old_shape=("B", 8),
                                       shape=("B", 8), old_params=680, params=680),)
    assert diff.renames == (("deep", "tower"),)
    assert not diff.edges_added and not diff.edges_removed and diff.param_delta == 0


def test_a_rename_cascade_a_renamed_feature_in_a_renamed_group(tmp_path):
    new = edit(BASE, ("feature user_id", "feature uid"), ("[user_id, item_id]", "[uid, item_id]"),
               ("group ids = ", "group keys = "), ("mlp([ids,", "mlp([keys,"))
    diff = _diff(tmp_path, new)
    assert [(c.change, c.old_name, c.name) for c in diff.changes] == [
        ("renamed", "user_id", "uid"), ("renamed", "ids", "keys")]
    assert dict(diff.renames) == {"user_id": "uid", "ids": "keys"}
    assert not diff.edges_added and not diff.edges_removed
    # without column= the renamed feature reads the column named after it: the review must see that
    assert diff.by_name("uid").args == (ArgChange("column", "user_id", "uid"),)
    assert diff.by_name("keys").args == ()


def test_a_renamed_feature_that_keeps_its_column_is_only_renamed(tmp_path):
    new = edit(BASE, ("feature user_id : id(buckets=1000, dim=8)", 'feature uid : id(buckets=1000, dim=8, column="user_id")'),
               ("[user_id, item_id]", "[uid, item_id]"))
    assert _diff(tmp_path, new).changes == (NodeChange(
        "renamed", "uid", "feature", "id", old_name="user_id", old_shape=("B", 8), shape=("B", 8),
        old_params=8016, params=8016),)


def test_a_feature_reading_another_column_is_changed(tmp_path):
    diff = _diff(tmp_path, edit(BASE, ("id(buckets=1000, dim=8)", 'id(buckets=1000, dim=8, column="visitor")')))
    assert [(c.change, c.name, c.args) for c in diff.changes] == [
        ("changed", "user_id", (ArgChange("column", "user_id", "visitor"),))]


def test_a_renamed_output_takes_its_inline_concat_along_unlisted(tmp_path):
    diff = _diff(tmp_path, edit(BASE, ("output ctr", "output click")))
    assert [(c.change, c.old_name, c.name) for c in diff.changes] == [("renamed", "ctr", "click")]
    assert dict(diff.renames) == {"ctr.concat": "click.concat", "ctr": "click"}


def test_a_renamed_node_with_a_changed_argument_is_removed_and_added(tmp_path):
    diff = _diff(tmp_path, edit(BASE, ("block deep = mlp", "block tower = mlp"), ("concat(deep,", "concat(tower,"),
                                ("units=[16, 8]", "units=[16, 8], dropout=0.5")))
    assert [(c.change, c.name) for c in diff.changes] == [
        ("removed", "deep"), ("added", "tower"), ("changed", "ctr.concat")]


def test_a_rewired_input(tmp_path):
    diff = _diff(tmp_path, edit(BASE, ("mlp([ids, history, cate, age]", "mlp([ids, cate, cate, age]")))
    # history and cate are both 8 wide: the same width, the same parameters
    assert diff.changes == (NodeChange(
        "changed", "deep", "block", "mlp", old_inputs=(("x", ("ids", "history", "cate", "age")),),
        inputs=(("x", ("ids", "cate", "cate", "age")),), old_shape=("B", 8), shape=("B", 8),
        old_params=680, params=680),)
    assert diff.edges_removed == (Edge("history", "deep", "data"),) and diff.edges_added == ()


def test_a_removed_feature_and_everything_it_fed(tmp_path):
    new = edit(BASE, ("feature hist    : sequence(of=item_id, max_len=20)\n", ""), ("pool history = avg(hist)\n", ""),
               ("mlp([ids, history, cate, age]", "mlp([ids, cate, age]"), ("concat(deep, history)", "concat(deep, cate)"))
    diff = _diff(tmp_path, new)
    # deep: n = 16 + 8 + 1 = 25: 26 * 16 + 17 * 8 = 552
    assert diff.changes == (
        NodeChange("removed", "hist", "feature", "sequence",
                   args=(ArgChange("of", "item_id", None), ArgChange("max_len", 20, None)),
                   old_inputs=(), old_shape=("B", 20, 8), old_params=0),
        NodeChange("removed", "history", "pool", "avg", old_inputs=(("x", ("hist",)),), old_shape=("B", 8),
                   old_params=0),
        NodeChange("changed", "deep", "block", "mlp", old_inputs=(("x", ("ids", "history", "cate", "age")),),
                   inputs=(("x", ("ids", "cate", "age")),), old_shape=("B", 8), shape=("B", 8),
                   old_params=680, params=552),
        NodeChange("changed", "ctr.concat", "block", "concat", old_inputs=(("x", ("deep", "history")),),
                   inputs=(("x", ("deep", "cate")),), old_shape=("B", 16), shape=("B", 16), old_params=0,
                   params=0, anonymous=True),
    )
    assert set(diff.edges_removed) == {Edge("item_id", "hist", "table"), Edge("hist", "history", "data"),
                                       Edge("history", "deep", "data"), Edge("history", "ctr.concat", "data")}
    assert diff.param_delta == 552 - 680


def test_a_changed_feature_dim_changes_shapes_downstream(tmp_path):
    diff = _diff(tmp_path, edit(BASE, ("id(buckets=500, dim=8)", "id(buckets=500, dim=4)")))
    # item_id: 502 * 4 = 2,008; ids mixes dims 8 and 4, so it concatenates: [B, 12];
    # deep: n = 12 + 4 + 8 + 1 = 25: 552; ctr: 8 + 4 + 1 = 13
    assert [(c.change, c.name, c.old_shape, c.shape, c.old_params, c.params) for c in diff.changes] == [
        ("changed", "item_id", ("B", 8), ("B", 4), 4016, 2008),
        ("affected", "hist", ("B", 20, 8), ("B", 20, 4), 0, 0),
        ("affected", "ids", ("B", 2, 8), ("B", 12), 0, 0),
        ("affected", "history", ("B", 8), ("B", 4), 0, 0),
        ("affected", "deep", ("B", 8), ("B", 8), 680, 552),
        ("affected", "ctr.concat", ("B", 16), ("B", 12), 0, 0),
        ("affected", "ctr", ("B", 1), ("B", 1), 17, 13),
    ]
    assert diff.by_name("item_id").args == (ArgChange("dim", 8, 4),)
    assert diff.param_delta == (2008 - 4016) + (552 - 680) + (13 - 17)


def test_model_name_and_doc_changes(tmp_path):
    diff = _diff(tmp_path, edit(BASE, ('model tiny "a small ranking model"', 'model small "a tiny ranker"')))
    assert not diff.same and diff.changes == ()
    assert (diff.old_model, diff.new_model, diff.old_doc, diff.new_doc) == (
        "tiny", "small", "a small ranking model", "a tiny ranker")


def test_din_avg_to_din_on_the_bundled_specs():
    diff = diff_specs(recdsl.check("specs/din_avg.rec"), recdsl.check("specs/din.rec"))
    # din's activation unit reads [q, k, q-k, q*k], 4 * 32 = 128 wide: dense layers 128 -> 80 -> 40 -> 1
    # plus one dice alpha per hidden unit; avg has none. The pooled output stays [B, 32] wide, so
    # nothing downstream changes.
    assert 129 * 80 + 81 * 40 + 41 * 1 + (80 + 40) == 13_721
    assert diff.changes == (NodeChange(
        "changed", "interest", "pool", "din", old_op="avg", old_inputs=(("x", ("hist_items", "hist_cates")),),
        inputs=(("query", ("item_id", "item_cate")), ("keys", ("hist_items", "hist_cates"))),
        old_shape=("B", 32), shape=("B", 32), old_params=0, params=13_721),)
    assert diff.param_delta == 13_721
    assert diff.edges_added == (Edge("item_cate", "interest", "data"), Edge("item_id", "interest", "data"))


def test_a_rename_follows_a_share_reference_on_a_bundled_spec(tmp_path):
    text = open("specs/attention.rec", encoding="utf-8").read()
    new = edit(text, ("pool target   =", "pool tgt ="), ("share=target", "share=tgt"), ("add(target, merged)", "add(tgt, merged)"))
    diff = diff_specs(recdsl.check("specs/attention.rec"), checked(tmp_path, "attention.rec", new))
    assert [(c.change, c.old_name, c.name) for c in diff.changes] == [("renamed", "target", "tgt")]
    assert not diff.edges_added and not diff.edges_removed


def test_dropping_a_share_gives_the_node_its_own_weights(tmp_path):
    text = open("specs/attention.rec", encoding="utf-8").read()
    diff = diff_specs(recdsl.check("specs/attention.rec"),
                      checked(tmp_path, "attention.rec", edit(text, ("    share=target,\n", ""))))
    # attention with transform=true over d = 16: a 16 x 16 kernel and a bias, 272 weights of its own
    assert diff.changes == (NodeChange("changed", "merged", "pool", "attention", args=(ArgChange("share", "target", None),),
                                       old_shape=("B", 16), shape=("B", 16), old_params=0, params=16 * 16 + 16),)
    assert diff.edges_removed == (Edge("target", "merged", "weights"),)


def test_two_identical_renamed_features_pair_in_source_order(tmp_path):
    old = edit(BASE, ("feature age     : numeric(normalize=standard)\n",
                      "feature age     : numeric(normalize=standard)\nfeature tenure  : numeric(normalize=standard)\n"),
               ("cate, age]", "cate, age, tenure]"))
    new = edit(old, ("feature age ", "feature years "), ("feature tenure ", "feature months "),
               ("cate, age, tenure]", "cate, years, months]"))
    diff = _diff(tmp_path, new, old)
    assert dict(diff.renames) == {"age": "years", "tenure": "months"}
    assert [c.change for c in diff.changes] == ["renamed", "renamed"]


def test_public_api_diff_takes_paths_and_text(monkeypatch):
    """recdsl.diff is `recdsl diff` from Python: paths or spec text, the same SpecDiff."""
    from recdsl.review.diff import SpecDiff

    root = Path(__file__).resolve().parents[2] / "specs"
    by_path = recdsl.diff(root / "din_avg.rec", root / "din.rec")
    assert isinstance(by_path, SpecDiff)
    assert (by_path.old_params, by_path.new_params) == (2_045_894, 2_059_615)
    assert [c.name for c in by_path.changes] == ["interest"]
    monkeypatch.chdir(root)  # spec text finds its vocabulary files from the working directory
    by_text = recdsl.diff((root / "din_avg.rec").read_text(), (root / "din.rec").read_text())
    assert by_text == by_path
