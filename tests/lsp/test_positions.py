"""recdsl.lsp.positions: 1-based code-point spans <-> 0-based LSP positions in UTF-16/8/32 units."""
from __future__ import annotations

import pytest

from recdsl.lang.span import Span
from recdsl.lsp.positions import LineIndex

LINE = 'feature g : category(vocab=["😀", "é"], dim=8, bogus=1)'
TEXT = f"model m\n{LINE}\n"
BOGUS = LINE.index("bogus") + 1  # 1-based column in code points: 47


@pytest.mark.parametrize("encoding, units_before", [
    ("utf-32", BOGUS - 1),          # code points
    ("utf-16", BOGUS - 1 + 1),      # 😀 is a surrogate pair: one more unit
    ("utf-8", BOGUS - 1 + 3 + 1),   # 😀 is 4 bytes, é is 2
])
def test_a_column_after_wide_characters_counts_the_client_units(encoding, units_before):
    lines = LineIndex(TEXT, encoding)
    assert BOGUS == 47
    assert lines.to_client(2, BOGUS) == (1, units_before)
    assert lines.from_client(1, units_before) == (2, BOGUS)
    span = Span("t.rec", 2, BOGUS, 2, BOGUS + 5)
    assert lines.range_to_client(span) == ((1, units_before), (1, units_before + 5))


def test_a_client_position_inside_a_surrogate_pair_lands_on_its_character():
    lines = LineIndex(TEXT, "utf-16")
    emoji = LINE.index("😀")
    assert lines.from_client(1, emoji + 1) == (2, emoji + 1)  # between the two halves: the emoji itself
    assert lines.from_client(1, emoji + 2) == (2, emoji + 2)  # after it: the closing quote


def test_points_past_the_text_are_clamped_into_it():
    lines = LineIndex("model m\nfeature a : id(buckets=1)", "utf-16")
    assert lines.to_client(2, 99) == (1, 25)
    assert lines.to_client(9, 1) == (1, 25)
    assert lines.to_client(0, 0) == (0, 0)
    assert lines.from_client(7, 3) == (2, 4)
    assert lines.end() == (1, 25)


def test_offsets_and_points_round_trip_and_lines_break_at_newline_only():
    text = "model m\r\nfeature a\f: id(buckets=1)\n\nblock b = x()"
    lines = LineIndex(text, "utf-16")
    for offset in range(len(text) + 1):
        line, column = lines.point(offset)
        if column - 1 <= len(lines.lines[line - 1]):
            assert lines.offset(line, column) == offset
    assert lines.point(text.index("block")) == (4, 1)
    assert lines.point(text.index("id(")) == (2, 13)  # \f stays inside line 2, as spans count it


def test_an_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="utf-7"):
        LineIndex("", "utf-7")
