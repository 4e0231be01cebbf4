"""The groups of lines format_source keeps: statements the author wrote together stay together,
whatever their kinds, with their `=` lined up; features are set apart from the model; format_spec
(no author layout) groups runs of one kind."""
from __future__ import annotations

from recdsl.lang.formatter import format_source, format_spec
from recdsl.lang.parser import parse


def formatted(text: str) -> str:
    out = format_source(text)
    assert parse(out) == parse(text) and format_source(out) == out
    return out


def test_a_pipeline_of_several_kinds_stays_one_group_with_its_equals_signs_lined_up():
    text = ("model m\n"
            "feature hist : sequence(of=item, max_len=20)\n"
            "block behaviour = append(hist, item)   # [B, 21, 16]\n"
            "block encoded = transformer(behaviour, heads=4)\n"
            "pool  interest  = avg(encoded)\n\n"
            "block deep = mlp(interest, units=[64])\n"
            "output ctr = sigmoid(deep)\n")
    assert formatted(text) == (
        "model m\n\n"
        "feature hist : sequence(of=item, max_len=20)\n\n"
        "block behaviour = append(hist, item)  # [B, 21, 16]\n"
        "block encoded   = transformer(behaviour, heads=4)\n"
        "pool interest   = avg(encoded)\n\n"
        "block deep = mlp(interest, units=[64])\n"
        "output ctr = sigmoid(deep)\n")


def test_features_start_and_end_a_group_even_without_a_blank_line():
    text = ("model m\n"
            "feature a : id(buckets=5)\n"
            "group g = [a]\n"
            "feature b : id(buckets=5)\n"
            "# the tower\n"
            "block deep = mlp([g, b], units=[8])\n")
    assert formatted(text) == (
        "model m\n\n"
        "feature a : id(buckets=5)\n\n"
        "group g = [a]\n\n"
        "feature b : id(buckets=5)\n\n"
        "# the tower\n"
        "block deep = mlp([g, b], units=[8])\n")


def test_a_group_of_kinds_pads_each_kind_and_name_together():
    text = "model m\npool p = avg(a)\ngate g = senet(x)\nblock long_name = f(x)\noutput o = sigmoid(x)\n"
    assert formatted(text) == ("model m\n\n"
                               "pool p          = avg(a)\n"
                               "gate g          = senet(x)\n"
                               "block long_name = f(x)\n"
                               "output o        = sigmoid(x)\n")


def test_format_spec_has_no_author_layout_and_groups_runs_of_one_kind():
    text = "model m\npool p = avg(a)\nblock b = f(x)\nblock cc = f(x)\noutput o = sigmoid(x)\n"
    assert format_spec(parse(text)) == ("model m\n\n"
                                        "pool p = avg(a)\n\n"
                                        "block b  = f(x)\n"
                                        "block cc = f(x)\n\n"
                                        "output o = sigmoid(x)\n")
