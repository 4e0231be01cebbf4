"""recdsl.lsp.analysis, partial and occurrences: problems of broken documents, roles of words, no Keras."""
from __future__ import annotations

import subprocess
import sys

import pytest

from recdsl.lang.errors import SpecErrors
from recdsl.lang.parser import parse
from recdsl.lsp.analysis import analyse
from recdsl.lsp.completion import complete
from recdsl.lsp.hover import hover_text
from recdsl.lsp.partial import parse_partially, statement_starts
from recdsl.lsp.positions import LineIndex
from tests.lsp.conftest import BUNDLED, ROOT

GOOD = """model m "two towers"
feature item_id : id(buckets=100, dim=8)
feature cate    : category(size=10, dim=8)
feature hist    : sequence(of=item_id, max_len=5)
pool interest = din(query=item_id, keys=hist, activation=dice)
block deep = mlp([cate, interest], units=[8])
output ctr = sigmoid(deep)
"""


def problems(text: str) -> list[tuple]:
    return [(p.span.line, p.span.column, p.span.end_column, p.severity, p.message, p.hint)
            for p in analyse(text, "/nowhere/t.rec").problems]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_bundled_spec_has_no_problem(path):
    analysis = analyse(path.read_text(encoding="utf-8"), str(path))
    assert analysis.problems == ()
    assert set(analysis.statements) <= set(analysis.nodes)


def test_a_broken_statement_is_left_out_and_the_others_still_checked():
    text = GOOD.replace("id(buckets=100, dim=8)", "id(buckets=100, dim=8").replace("[cate, interest]",
                                                                                 "[cate, interst]")
    assert problems(text) == [
        (2, 40, 41, "error", "the statement ends too early", "close the call with ')'"),
        (6, 25, 32, "error", "undefined name `interst`", "did you mean `interest`?"),
    ]
    with pytest.raises(SpecErrors) as plain:  # the parser alone stops at the syntax error
        parse(text, "/nowhere/t.rec")
    assert [e.message for e in plain.value.errors] == ["the statement ends too early"]
    # item_id's statement is blanked: `of=item_id` and `query=item_id` are not reported as undefined
    assert "item_id" not in analyse(text, "t.rec").statements


def test_blanking_keeps_every_other_position():
    text = GOOD.replace("pool interest = din(", "pool interest = din(((")
    partial = parse_partially(text, "t.rec")
    assert [e.message for e in partial.syntax_errors] == ["unexpected `(`"]
    assert [st.name for st in partial.spec.statements] == ["item_id", "cate", "hist", "deep", "ctr"]
    deep = partial.spec.statements[3]
    assert (deep.name_span.line, deep.name_span.column) == (6, 7)
    assert [b.declares for b in partial.broken] == ["interest"]


def test_a_missing_header_gives_the_syntax_error_only():
    result = analyse(GOOD.split("\n", 1)[1], "t.rec")
    assert result.spec is None and result.nodes == {}
    assert [p.message for p in result.problems] == ["a spec starts with a `model` header"]


def test_a_broken_header_keeps_the_statements():
    result = analyse(GOOD.replace('model m "two towers"', 'model m "two towers'), "t.rec")
    assert [(p.span.line, p.span.column, p.message) for p in result.problems] == [(1, 9, "unterminated string")]
    assert "ctr" in result.nodes


def test_statement_starts_follow_keywords_and_unbracketed_words():
    text = "model m\nfeature a : id(\n  buckets=1)  # feature x\nfeatre b : id(buckets=2)\n  pool c = avg(b)\n"
    assert [text[s:s + 6] for s in statement_starts(text)] == ["model ", "featur", "featre", "pool c"]


def test_words_have_their_roles():
    analysis = analyse(GOOD, "t.rec")
    roles = [(o.role, o.text) for o in analysis.occurrences if o.statement == "interest"]
    assert roles == [("keyword", "pool"), ("definition", "interest"), ("op", "din"), ("argument", "query"),
                     ("reference", "item_id"), ("argument", "keys"), ("reference", "hist"),
                     ("argument", "activation"), ("enum", "dice")]
    dice = analysis.at(5, GOOD.split("\n")[4].index("dice") + 1)
    assert (dice.role, dice.op, dice.argument) == ("enum", "din", "activation")


def test_a_node_named_like_an_enum_value_is_still_a_reference_where_a_name_is_expected():
    text = GOOD.replace("interest", "relu").replace("activation=dice", "activation=relu")
    analysis = analyse(text, "t.rec")
    assert analysis.problems == ()
    assert [o.span.line for o in analysis.references("relu")] == [6]
    assert [o.role for o in analysis.occurrences if o.text == "relu"] == ["definition", "enum", "reference"]


@pytest.mark.parametrize("name", ["din.rec", "bst.rec"])
def test_every_prefix_of_a_spec_being_typed_is_analysed_completed_and_hovered(name):
    text = (ROOT / "specs" / name).read_text(encoding="utf-8")
    for cut in range(0, len(text) + 1, 13):
        analysis = analyse(text[:cut], str(ROOT / "specs" / name))
        assert all(p.severity in ("error", "warning") for p in analysis.problems)
        complete(analysis, *LineIndex(text[:cut], "utf-32").point(cut))
        assert all(isinstance(hover_text(analysis, o), (str, type(None))) for o in analysis.occurrences)


_NO_TF = """
import sys
from pathlib import Path
from recdsl.lsp.analysis import analyse
from recdsl.lsp.completion import complete
from recdsl.lsp.hover import hover_text
from recdsl.lsp.navigation import outline
import recdsl.lsp.server
for path in sorted(Path("specs").glob("*.rec")):
    a = analyse(path.read_text(), str(path))
    outline(a)
    [hover_text(a, o) for o in a.occurrences]
    complete(a, 3, 1)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "jax", "torch"))
assert not heavy, heavy
print("NO-TF-OK")
"""


def test_analysing_every_spec_never_imports_tensorflow_keras_jax_or_torch():
    done = subprocess.run([sys.executable, "-c", _NO_TF], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "NO-TF-OK"


def test_a_broken_output_hides_neither_the_others_nor_invents_unused_names_or_a_missing_output():
    text = GOOD.replace("output ctr = sigmoid(deep)", "output ctr = sigmoid(deep,")
    assert problems(text) == [(7, 27, 28, "error", "the statement ends too early", "close the call with ')'")]
    assert "deep" in analyse(text, "t.rec").nodes
    plain = analyse(GOOD.replace("output ctr = sigmoid(deep)\n", ""), "t.rec")
    assert [p.message for p in plain.problems] == ["model `m` has no output", "block `deep` is never used"]
