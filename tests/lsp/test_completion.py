"""recdsl.lsp.completion on text being typed: the cursor is `|` in each case."""
from __future__ import annotations

import pytest

from recdsl.lsp.analysis import analyse
from recdsl.lsp.completion import complete
from recdsl.ops import load
from tests.lsp.conftest import ROOT

DIN = (ROOT / "specs" / "din.rec").read_text(encoding="utf-8")
INLINE_OPS = sorted(n for n, s in load().items() if s.family in ("pool", "gate", "block"))


def labels(typed: str, spec: str = DIN) -> list[str]:
    """Completion labels with the cursor at `|` in `typed`, appended to `spec`."""
    text = spec + typed
    at = text.index("|")
    text = text.replace("|", "", 1)
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    analysis = analyse(text, str(ROOT / "specs" / "typed.rec"))
    return [s.label for s in complete(analysis, line, column)]


KEYWORDS = ["feature", "group", "pool", "gate", "block", "output"]


@pytest.mark.parametrize("typed", ["\n|", "\npo|", "\n  |", "\n\n|\n"])
def test_statement_keywords_at_a_line_start(typed):
    assert labels(typed) == KEYWORDS


def test_the_header_keyword_first_in_an_empty_file():
    assert labels("|", spec="") == ["model"] + KEYWORDS


def family(name: str) -> list[str]:
    return sorted(op for op, spec in load().items() if spec.family == name)


def test_op_names_of_the_statement_family():
    assert {"attention", "avg", "din", "max", "sum"} <= set(family("pool"))
    assert labels("\npool p = |") == family("pool")
    assert labels("\nfeature f : |") == family("feature") and "sequence" in family("feature")
    assert labels("\noutput o = si|") == family("output")


def test_argument_names_not_given_yet_then_values_for_the_next_positional_slot():
    din = [f"{slot}=" for slot in load()["din"].slots]
    assert din[:3] == ["query=", "keys=", "units="]
    # din(query, keys, ...): after one positional argument the next slot is keys, a sequence input
    got = labels("\npool p = din(item_id, |")
    assert got == din[1:] + ["genres", "hist_items", "hist_cates", *INLINE_OPS]
    assert labels("\npool p = din(query=item_id, units=[8], |") == [a for a in din if a not in ("query=", "units=")]


def test_enum_values_after_an_enum_argument():
    assert labels("\npool p = din(query=item_id, keys=hist_items, activation=|") == ["dice", "prelu", "sigmoid",
                                                                                     "relu"]
    assert labels("\nblock b = cross(fields, version=v|)") == ["v1", "v2"]


def test_names_of_the_kind_the_slot_takes():
    # of= takes an id or category feature (or a new table); keys= sequences and bags; share= the same op
    assert labels("\nfeature h : sequence(of=|") == ["user_id", "gender", "occupation", "item_id", "item_cate",
                                                   "category", "id"]
    assert labels("\npool p = din(query=item_id, keys=[hist_items, |") == ["genres", "hist_items", "hist_cates",
                                                                           *INLINE_OPS]
    assert labels("\npool p = din(query=item_id, keys=hist_items, share=|") == ["interest"]
    assert labels("\nblock b = mlp(fields, units=[8], gate=|") == ["poso"]
    assert labels("\nblock b = fm(fields, reduce=|") == ["true", "false"]


def test_a_group_list_offers_every_name_but_outputs_and_itself():
    assert labels("\ngroup g = [|") == ["user_id", "gender", "age", "occupation", "genres", "item_id", "item_cate",
                                        "hist_items", "hist_cates", "user", "genres_vec", "interest", "fields",
                                        "cross", "deep"]


@pytest.mark.parametrize("typed", ['\nfeature s : category(vocab=["a|', "\n# a comment |", "\npool p = din(units=[8|"])
def test_nothing_inside_strings_comments_or_numbers(typed):
    assert labels(typed) == []


def test_share_between_ops_with_weights_by_role_offers_each_of_them():
    spec = (ROOT / "specs" / "merged_attention.rec").read_text(encoding="utf-8")
    assert labels("\npool p = traditional_attention(hist_items, share=|", spec) == [
        "history_self", "target_self", "history_trad", "interest"]
    assert labels("\nblock b = mlp(item_id, units=[8], share=|", spec) == ["deep"]  # the one other mlp
