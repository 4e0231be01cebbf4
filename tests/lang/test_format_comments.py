"""format_source: the canonical layout with every comment and the author's blank lines kept.

The comments of input and output are counted by an independent oracle: lark itself, with a
lexer callback on the grammar's COMMENT terminal (the formatter finds them with its own scan)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recdsl.lang.errors import SpecErrors
from recdsl.lang.formatter import WIDTH, format_source, format_spec
from recdsl.lang.parser import grammar_path, parse
from tests.lang.test_formatter import DIN as FORMATTER_DIN
from tests.lang.test_formatter import ODD
from tests.lang.test_yamlform import DIN as YAML_DIN
from tests.lang.test_yamlform import TINY

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "specs").glob("*.rec")) + sorted((ROOT / "examples").rglob("*.rec"))


_SEEN: list[str] = []
_ORACLE = lark.Lark(grammar_path().read_text(), parser="lalr", start="start",
                    lexer_callbacks={"COMMENT": lambda tok: _SEEN.append(str(tok).rstrip())})


def lark_comments(text: str) -> Counter:
    """The comments of `text` as lark's lexer sees them (trailing whitespace dropped)."""
    _SEEN.clear()
    _ORACLE.parse(text)
    return Counter(_SEEN)


def check_faithful(text: str) -> str:
    """Format `text`; assert the same AST, the same comments (each as often), and a fixed point."""
    formatted = format_source(text)
    assert parse(formatted) == parse(text)
    assert lark_comments(formatted) == lark_comments(text)
    assert format_source(formatted) == formatted
    return formatted


@pytest.mark.parametrize("path", BUNDLED, ids=[str(p.relative_to(ROOT)) for p in BUNDLED])
def test_bundled_specs_keep_every_comment(path):
    text = path.read_text(encoding="utf-8")
    assert lark_comments(text), f"{path} has no comment to keep"
    check_faithful(text)


@pytest.mark.parametrize("text", [FORMATTER_DIN, ODD, YAML_DIN, TINY], ids=["din", "odd", "yaml-din", "tiny"])
def test_specs_inside_tests_keep_every_comment(text):
    check_faithful(text)


def test_without_comments_or_blank_lines_it_is_the_canonical_layout():
    text = "model m\nfeature a : id(buckets=5)\nfeature long_name : id(buckets=5)\npool p = avg(a)\n"
    assert format_source(text) == format_spec(parse(text))


def test_trailing_comments_line_up_within_a_group():
    text = ("model m\n"
            "feature user_id : id(buckets=100_000, dim=16) # hashed id\n"
            "feature age : numeric(normalize=standard)   # dense\n"
            "feature item_id : id(buckets=20_000, dim=16)\n"
            "feature gender : category(vocab=[\"M\", \"F\"], dim=4)#  lookup\n"
            "pool p = avg(age) # one\n")
    assert check_faithful(text) == (
        "model m\n\n"
        "feature user_id : id(buckets=100_000, dim=16)        # hashed id\n"
        "feature age     : numeric(normalize=standard)        # dense\n"
        "feature item_id : id(buckets=20_000, dim=16)\n"
        'feature gender  : category(vocab=["M", "F"], dim=4)  #  lookup\n\n'
        "pool p = avg(age)  # one\n")


def test_comments_before_the_header_and_the_first_statement():
    text = "\n\n# spec.rec — a tiny model\n# second line\n\nmodel m \"doc\"   # the header\n" \
           "# the ids\nfeature a : id(buckets=5)\n"
    assert check_faithful(text) == (
        "# spec.rec — a tiny model\n# second line\n\nmodel m \"doc\"  # the header\n\n"
        "# the ids\nfeature a : id(buckets=5)\n")


def test_comments_at_the_end_of_the_file():
    text = "model m\nfeature a : id(buckets=5)\n# one\n\n\n\n# two   \n\n\n"
    assert check_faithful(text) == "model m\n\nfeature a : id(buckets=5)\n# one\n\n# two\n"
    assert check_faithful("model m # only a header\n# end") == "model m  # only a header\n# end\n"


def test_comments_inside_a_call_broken_over_lines():
    text = ('model m\n'
            'pool interest = din(   # target attention\n'
            '    query=[item_id, item_cate],keys=[hist_items, hist_cates],\n'
            '    # two layers of the activation unit\n'
            '    units=[80, 40],  # widths\n'
            '    activation=dice, # the DIN activation\n'
            '    # softmax is an option\n'
            ')   # the user interest\n')
    assert check_faithful(text) == (
        'model m\n\n'
        'pool interest = din(  # target attention\n'
        '    query=[item_id, item_cate],\n'
        '    keys=[hist_items, hist_cates],\n'
        '    # two layers of the activation unit\n'
        '    units=[80, 40],   # widths\n'
        '    activation=dice,  # the DIN activation\n'
        '    # softmax is an option\n'
        ')  # the user interest\n')


def test_a_short_call_with_a_comment_inside_is_written_one_argument_per_line():
    text = "model m\nblock deep = mlp(x, units=[80, 40],  # two layers\n dropout=0.1)\n"
    assert check_faithful(text) == (
        "model m\n\nblock deep = mlp(\n    x,\n    units=[80, 40],  # two layers\n    dropout=0.1,\n)\n")


def test_a_comment_inside_a_nested_call_goes_before_its_argument():
    text = ("model m\n"
            "block deep = mlp(x, gate=poso(by=[a,  # personalise\n b], # why\n units=16), dropout=0.1)\n")
    assert check_faithful(text) == (
        "model m\n\nblock deep = mlp(\n    x,\n    # personalise\n    # why\n"
        "    gate=poso(by=[a, b], units=16),\n    dropout=0.1,\n)\n")


def test_comments_in_a_group_list_and_in_a_statement_head():
    text = "model m\ngroup # what\n user = [a, # first\n b]\nfeature c : f(  # empty\n)\n"
    assert check_faithful(text) == (
        "model m\n\n# what\ngroup user = [\n    a,  # first\n    b,\n]\n\n"
        "feature c : f(  # empty\n)\n")


def test_positional_arguments_after_keywords_keep_their_comments():
    text = "model m\nblock b = f(k=1,  # of k\n a,  # of a\n)\n"
    assert check_faithful(text) == "model m\n\nblock b = f(\n    a,    # of a\n    k=1,  # of k\n)\n"


def test_a_hash_inside_a_string_is_not_a_comment():
    text = 'model m "issue #18"\nfeature g : category(vocab=["a # b", "#", "say \\"#\\""])  # real\n'
    formatted = check_faithful(text)
    assert formatted == ('model m "issue #18"\n\n'
                         'feature g : category(vocab=["a # b", "#", "say \\"#\\""])  # real\n')
    assert lark_comments(formatted) == Counter(["# real"])


def test_blank_line_grouping():
    text = ("model m\n"
            "feature a : id(buckets=5)\n"
            "feature bb : id(buckets=5)\n\n\n\n"
            "feature long_name : id(buckets=5)\n"
            "# about p\n"
            "pool p = avg(a)\n"
            "pool q = avg(bb)\n"
            "# about r\n\n"
            "pool r = avg(a)\n")
    assert check_faithful(text) == (
        "model m\n\n"
        "feature a  : id(buckets=5)\n"
        "feature bb : id(buckets=5)\n\n"
        "feature long_name : id(buckets=5)\n\n"
        "# about p\n"
        "pool p = avg(a)\n"
        "pool q = avg(bb)\n"
        "# about r\n\n"
        "pool r = avg(a)\n")


def test_crlf_and_tabs():
    text = "model m\r\n\tfeature a : id(buckets=5)\t# tabbed\r\n# end\r\n"
    assert check_faithful(text) == "model m\n\nfeature a : id(buckets=5)  # tabbed\n# end\n"


def test_text_that_does_not_parse_raises_located_errors():
    with pytest.raises(SpecErrors) as excinfo:
        format_source("model m\nfeature a : id(buckets=5\n# end\n", "bad.rec")
    assert str(excinfo.value.errors[0].span).startswith("bad.rec:")


# Random specs, with whitespace, blank lines and comments in every gap between two tokens.
NAMES = ["a", "b", "item_id", "hist", "x2"]
ATOMS = ["1", "20k", "0.5", "-2", "100_000", "true", "false", '"a # b"', '"x"', '""', '"say \\"hi\\" #"',
         '"a vocabulary word long enough to open its list"', "1_234.500_0E-3", "a_reference_to_a_long_feature_name"]
SEPARATORS = [" ", " ", " ", "", "\n", "\n\n", "\n\n\n", "  {c}\n", "\n{c}\n", "\n\n{c}\n\n", "\n    {c}\n    "]


def _joined(items: list[list[str]], trailing_comma: bool) -> list[str]:
    tokens: list[str] = []
    for i, item in enumerate(items):
        tokens += ([","] if i else []) + item
    return tokens + ([","] if trailing_comma and items else [])


def _calls(values):
    argument = st.tuples(st.one_of(st.none(), st.sampled_from(NAMES)), values).map(
        lambda kv: ([kv[0], "="] if kv[0] else []) + kv[1])
    return st.builds(lambda op, args, comma: [op, "(", *_joined(args, comma), ")"],
                     st.sampled_from(["f", "mlp", "poso"]), st.lists(argument, max_size=4), st.booleans())


def _lists(values):
    return st.builds(lambda items, comma: ["[", *_joined(items, comma), "]"], st.lists(values, max_size=3),
                     st.booleans())


VALUES = st.recursive(st.one_of(st.sampled_from(NAMES), st.sampled_from(ATOMS)).map(lambda t: [t]),
                      lambda inner: st.one_of(_lists(inner), _calls(inner)), max_leaves=6)


@st.composite
def commented_specs(draw) -> tuple[str, list[str]]:
    """(spec text, the comments put in it)."""
    tokens = ["model", draw(st.sampled_from(NAMES))] + draw(st.sampled_from([[], ['"doc #1"']]))
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["feature", "group", "pool", "gate", "block", "output"]))
        value = draw(_lists(VALUES) if kind == "group" else _calls(VALUES))
        tokens += [kind, draw(st.sampled_from(NAMES)), ":" if kind == "feature" else "=", *value]
    tokens.append("")
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(tokens), max_size=len(tokens)))
    count = sum("{c}" in separator for separator in separators)
    notes = iter(draw(st.lists(st.text(alphabet='ab #"\\()[],=é\t', max_size=8), min_size=count, max_size=count)))
    text, comments = "", []
    for token, separator in zip(tokens, separators):
        if "{c}" in separator:
            comments.append(f"#@{len(comments)}@ {next(notes)}".rstrip())
            separator = separator.replace("{c}", comments[-1])
        text += (separator if separator.strip() or text else "") + token
        if separator == "" and token and text[-len(token) - 1:-len(token)].isalnum():
            text = text[:-len(token)] + " " + token  # two names never run together
    return text, comments


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commented_specs())
def test_random_specs_with_comments_everywhere(case):
    text, comments = case
    formatted = check_faithful(text)
    lines = formatted.split("\n")
    for comment in comments:
        marker = comment.split(" ", 1)[0]
        assert formatted.count(marker) == 1
        assert any(line.endswith(comment) for line in lines), comment
    assert formatted.count("#@") == len(comments)
    assert all(len(line) <= WIDTH for line in lines if "#" not in line)  # long values are opened
