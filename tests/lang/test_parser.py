"""The .rec grammar, construct by construct: the AST each one parses to and the spans it keeps."""
from __future__ import annotations

import pytest

from recdsl.lang import ast
from recdsl.lang.errors import SpecErrors
from recdsl.lang.parser import escape, parse, parse_file, parse_number, unescape

HEADER = "model m\n"


def parse_one(statement: str) -> ast.Statement:
    """Parse `statement` after a one-line header; it starts on line 2."""
    spec = parse(HEADER + statement, "t.rec")
    assert len(spec.statements) == 1
    return spec.statements[0]


def value_of(expr: str) -> ast.Expr:
    """The AST of a value, as the argument `v=` of a block call on line 2."""
    call = parse_one(f"block b = f(v={expr})").value
    return call.kwargs[0].value


def at(span, line: int, column: int, end_line: int | None = None, end_column: int | None = None) -> None:
    assert (span.line, span.column) == (line, column), span
    if end_column is not None:
        assert (span.end_line, span.end_column) == (end_line or line, end_column), span


# --- header -------------------------------------------------------------------------------

def test_header_without_doc():
    spec = parse("model din_ctr\n", "h.rec")
    assert spec == ast.Spec("din_ctr", "", ())
    assert spec.file == "h.rec"
    at(spec.span, 1, 1, 1, 14)


def test_header_with_doc():
    spec = parse('model din_ctr "CTR ranking"\n')
    assert (spec.name, spec.doc, spec.statements) == ("din_ctr", "CTR ranking", ())
    at(spec.span, 1, 1, 1, 28)


def test_header_doc_with_escapes():
    spec = parse(r'model m "say \"hi\"\tand \\ then\nnext"')
    assert spec.doc == 'say "hi"\tand \\ then\nnext'


def test_header_after_leading_comments_and_blank_lines():
    spec = parse("# a spec\n\n   # indented comment\nmodel m\n")
    assert spec.name == "m"
    at(spec.span, 4, 1)


# --- comments -----------------------------------------------------------------------------

def test_comments_are_ignored_everywhere_but_inside_strings():
    text = (
        "# leading\n"
        'model m "a # not a comment"  # trailing\n'
        "feature a : category(vocab=[\"#x\"],  # inside a call\n"
        "                     dim=4)       # after it\n"
        "# closing\n"
    )
    spec = parse(text)
    assert spec.doc == "a # not a comment"
    assert spec.statements == (
        ast.Statement("feature", "a", ast.Call("category", (), (
            ast.KwArg("vocab", ast.ListExpr((ast.Str("#x"),))),
            ast.KwArg("dim", ast.Num(4)),
        ))),
    )


def test_comment_only_file_after_header():
    assert parse("model m # c\n# one\n# two").statements == ()


# --- statements ---------------------------------------------------------------------------

def test_feature_statement():
    st = parse_one("feature user_id : id(buckets=100, dim=16)")
    assert st == ast.Statement("feature", "user_id", ast.Call("id", (), (
        ast.KwArg("buckets", ast.Num(100)), ast.KwArg("dim", ast.Num(16)))))
    at(st.span, 2, 1, 2, 42)
    at(st.name_span, 2, 9, 2, 16)
    at(st.value.span, 2, 19, 2, 42)
    at(st.value.op_span, 2, 19, 2, 21)
    buckets, dim = st.value.kwargs
    at(buckets.span, 2, 22, 2, 29)
    at(buckets.value.span, 2, 30, 2, 33)
    at(dim.value.span, 2, 39, 2, 41)


def test_feature_with_nested_call():
    st = parse_one('feature genres : multi(category(vocab_file="genres.txt", dim=8), max_len=6)')
    assert st.value == ast.Call("multi", (
        ast.Call("category", (), (ast.KwArg("vocab_file", ast.Str("genres.txt")), ast.KwArg("dim", ast.Num(8)))),
    ), (ast.KwArg("max_len", ast.Num(6)),))
    inner = st.value.args[0]
    at(inner.span, 2, 24, 2, 64)
    at(inner.op_span, 2, 24, 2, 32)
    at(inner.kwargs[0].value.span, 2, 44, 2, 56)


def test_group_statement():
    st = parse_one("group user = [user_id, gender, age]")
    assert st == ast.Statement("group", "user", ast.ListExpr(
        (ast.Name("user_id"), ast.Name("gender"), ast.Name("age"))))
    at(st.name_span, 2, 7, 2, 11)
    at(st.value.span, 2, 14, 2, 36)
    at(st.value.items[1].span, 2, 24, 2, 30)


@pytest.mark.parametrize("kind", ["pool", "gate", "block", "output"])
def test_assignment_statements(kind):
    st = parse_one(f"{kind} x = op(a)")
    assert st == ast.Statement(kind, "x", ast.Call("op", (ast.Name("a"),)))
    at(st.name_span, 2, len(kind) + 2)
    assert st.span.line == 2 and st.span.column == 1


def test_every_statement_kind_in_one_spec_keeps_source_order():
    text = HEADER + (
        "feature a : id(buckets=10)\n"
        "group g = [a]\n"
        "pool p = avg(s)\n"
        "gate w = senet(g)\n"
        "block d = mlp(w, units=[4])\n"
        "output o = sigmoid(d)\n"
    )
    spec = parse(text)
    assert [(s.kind, s.name, s.span.line) for s in spec.statements] == [
        ("feature", "a", 2), ("group", "g", 3), ("pool", "p", 4), ("gate", "w", 5), ("block", "d", 6),
        ("output", "o", 7)]


def test_names_that_start_with_keywords_are_names():
    spec = parse(HEADER + "feature model_id : id(buckets=3)\nfeature true_x : id(buckets=3)\n"
                          "output output_x = sigmoid(concat(model_id, true_x, false_y))")
    assert [s.name for s in spec.statements] == ["model_id", "true_x", "output_x"]
    concat = spec.statements[2].value.args[0]
    assert concat.args == (ast.Name("model_id"), ast.Name("true_x"), ast.Name("false_y"))


def test_keyword_used_as_argument_name():
    st = parse_one("pool p = din(query=a, keys=s, output=sequence)")
    assert st.value.kwarg("output") == ast.KwArg("output", ast.Name("sequence"))


# --- calls --------------------------------------------------------------------------------

def test_call_with_positional_then_keyword_arguments():
    st = parse_one("block c = cross(fields, 3, version=v1, rank=8)")
    assert st.value == ast.Call("cross", (ast.Name("fields"), ast.Num(3)), (
        ast.KwArg("version", ast.Name("v1")), ast.KwArg("rank", ast.Num(8))))
    at(st.value.args[0].span, 2, 17, 2, 23)
    at(st.value.args[1].span, 2, 25, 2, 26)
    assert st.value.kwarg("rank").value == ast.Num(8)
    assert st.value.kwarg("missing") is None


def test_call_without_arguments_and_with_a_trailing_comma():
    assert parse_one("block c = concat()").value == ast.Call("concat")
    assert parse_one("block c = concat(a, b,)").value == ast.Call("concat", (ast.Name("a"), ast.Name("b")))
    assert parse_one("block c = f(k=1,)").value == ast.Call("f", (), (ast.KwArg("k", ast.Num(1)),))


def test_nested_calls_as_arguments():
    st = parse_one("output ctr = sigmoid(concat(cross, mlp(deep, units=[8])))")
    mlp = ast.Call("mlp", (ast.Name("deep"),), (ast.KwArg("units", ast.ListExpr((ast.Num(8),))),))
    assert st.value == ast.Call("sigmoid", (ast.Call("concat", (ast.Name("cross"), mlp)),))
    concat = st.value.args[0]
    at(concat.span, 2, 22, 2, 57)
    at(concat.args[1].op_span, 2, 36, 2, 39)


def test_nested_calls_inside_lists():
    st = parse_one("block d = mlp([user_id, avg(genres), din(query=a, keys=s)], units=[4])")
    items = st.value.args[0].items
    assert items == (ast.Name("user_id"), ast.Call("avg", (ast.Name("genres"),)),
                     ast.Call("din", (), (ast.KwArg("query", ast.Name("a")), ast.KwArg("keys", ast.Name("s")))))
    at(items[1].span, 2, 25, 2, 36)


def test_gate_argument_is_a_nested_call_with_a_list():
    st = parse_one("block d = mlp(x, units=[4], gate=poso(by=[user_id, age], units=16))")
    gate = st.value.kwarg("gate").value
    assert gate == ast.Call("poso", (), (
        ast.KwArg("by", ast.ListExpr((ast.Name("user_id"), ast.Name("age")))), ast.KwArg("units", ast.Num(16))))


# --- lists --------------------------------------------------------------------------------

def test_list_of_numbers():
    v = value_of("[256, 128, 64]")
    assert v == ast.ListExpr((ast.Num(256), ast.Num(128), ast.Num(64)))
    at(v.span, 2, 15, 2, 29)
    assert [i.span.column for i in v.items] == [16, 21, 26]


def test_list_with_trailing_comma():
    assert value_of("[1, 2,]") == ast.ListExpr((ast.Num(1), ast.Num(2)))
    assert value_of('["a",]') == ast.ListExpr((ast.Str("a"),))


def test_empty_list():
    v = value_of("[]")
    assert v == ast.ListExpr(())
    at(v.span, 2, 15, 2, 17)


def test_nested_and_mixed_lists():
    assert value_of('[[1], [], "x", y, true]') == ast.ListExpr((
        ast.ListExpr((ast.Num(1),)), ast.ListExpr(()), ast.Str("x"), ast.Name("y"), ast.Bool(True)))


def test_list_spanning_lines():
    v = value_of("[\n  80,\n  40,\n]")
    assert v == ast.ListExpr((ast.Num(80), ast.Num(40)))
    at(v.span, 2, 15, 5, 2)
    at(v.items[1].span, 4, 3, 4, 5)


# --- scalars ------------------------------------------------------------------------------

@pytest.mark.parametrize("literal, value", [
    (r'"plain"', "plain"),
    (r'""', ""),
    (r'"with \"quotes\""', 'with "quotes"'),
    (r'"back\\slash"', "back\\slash"),
    (r'"tab\there"', "tab\there"),
    (r'"new\nline"', "new\nline"),
    ('"café ☕"', "café ☕"),
])
def test_strings_with_escapes(literal, value):
    v = value_of(literal)
    assert v == ast.Str(value)
    at(v.span, 2, 15, 2, 15 + len(literal))


@pytest.mark.parametrize("literal, value", [
    ("7", 7), ("100_000", 100_000), ("20k", 20_000), ("1.5M", 1_500_000), ("2M", 2_000_000),
    ("0.1", 0.1), ("1e-3", 0.001), ("2.5E+2", 250.0), ("-2", -2), ("-0.5", -0.5), ("1_000.25", 1000.25),
])
def test_numbers(literal, value):
    v = value_of(literal)
    assert v == ast.Num(value)
    assert type(v.value) is type(value)
    at(v.span, 2, 15, 2, 15 + len(literal))


def test_true_and_false():
    st = parse_one("block d = f(a=true, b=false)")
    a, b = st.value.kwargs
    assert a.value == ast.Bool(True) and b.value == ast.Bool(False)
    assert a.value.value is True and b.value.value is False
    at(a.value.span, 2, 15, 2, 19)
    at(b.value.span, 2, 23, 2, 28)


def test_bare_name_value():
    v = value_of("dice")
    assert v == ast.Name("dice")
    at(v.span, 2, 15, 2, 19)


# --- layout -------------------------------------------------------------------------------

def test_multi_line_statement_keeps_spans_on_every_line():
    text = HEADER + (
        "pool interest = din(query=[item_id, item_cate],\n"
        "                    keys=[hist_items, hist_cates],\n"
        "                    units=[80, 40], activation=dice)\n"
        "output o = sigmoid(interest)\n"
    )
    spec = parse(text)
    pool, out = spec.statements
    at(pool.span, 2, 1, 4, 53)
    keys = pool.value.kwarg("keys")
    at(keys.span, 3, 21, 3, 25)
    at(keys.value.items[1].span, 3, 39, 3, 49)
    at(pool.value.kwarg("activation").value.span, 4, 48, 4, 52)
    at(out.span, 5, 1)


def test_whitespace_and_layout_do_not_change_the_ast():
    one = parse('model m "d"\nfeature a : id(buckets=10, dim=4)\noutput o = sigmoid(mlp([a], units=[2, 1]))\n')
    other = parse('# comment\n\nmodel   m\n  "d"\nfeature a:id(\n buckets = 10 ,dim=4 , )\n'
                  "output\to =\n  sigmoid( mlp( [ a , ] , units = [2,1] ) )  # end")
    assert one == other
    assert one.statements[0].span != other.statements[0].span


def test_windows_line_endings():
    spec = parse("model m\r\nfeature a : id(buckets=10)\r\noutput o = sigmoid(a)\r\n")
    assert [s.name for s in spec.statements] == ["a", "o"]
    at(spec.statements[1].name_span, 3, 8)


def test_walk_visits_every_nested_expression():
    st = parse_one("block d = mlp([a, avg(s)], units=[4], gate=poso(by=[u]))")
    kinds = [type(e).__name__ for e in ast.walk(st.value)]
    assert kinds == ["Call", "ListExpr", "Name", "Call", "Name", "ListExpr", "Num", "Call", "ListExpr", "Name"]


def test_parse_file_uses_the_path_in_spans(tmp_path):
    path = tmp_path / "one.rec"
    path.write_text("model m\nfeature a : id(buckets=10)\n")
    spec = parse_file(path)
    assert spec.file == str(path)
    assert spec.statements[0].name_span.file == str(path)
    assert str(spec.statements[0].name_span) == f"{path}:2:9"


# --- parse_number, escape -----------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("0", 0), ("42", 42), ("100_000", 100000), ("1_0", 10), ("20k", 20000), ("1k", 1000),
    ("1.5M", 1500000), ("0.5k", 500), ("1.25k", 1250), ("3M", 3000000), ("0.1", 0.1), ("1e-3", 0.001),
    ("1E3", 1000.0), ("-2", -2), ("-1.5k", -1500), ("2.5", 2.5), ("1.0005k", 1000.5),
])
def test_parse_number(text, value):
    result = parse_number(text)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize("text, value", [
    ("1.1k", 1100), ("0.1k", 100), ("1.1M", 1_100_000), ("1.001k", 1001), ("1.0001k", 1000.1), ("1e300k", 1e303),
    ("1." + "0" * 40 + "1k", 1000.0),
    ("9223372036854775807", 2**63 - 1), ("-9223372036854775807", -(2**63 - 1)), ("0" * 40 + "7", 7),
    ("1e308", 1e308), ("5e-324", 5e-324), ("0e-999", 0.0), ("-0.0", 0.0),
])
def test_scaled_numbers_are_exact_and_the_range_is_64_bits(text, value):
    result = parse_number(text)
    assert result == value and type(result) is type(value)


TOO_LARGE = ["9223372036854775808", "-9223372036854775808", "1" * 400, "1" * 5000, "9" * 4300 + "M",
             "1e309", "-1e309", "1e999", "1.8e308", "1e307k", "1" * 400 + ".5"]


@pytest.mark.parametrize("text", TOO_LARGE, ids=lambda t: t if len(t) < 30 else f"{len(t)}-chars")
def test_numbers_too_large_are_located_errors(text):
    source = f"model m\nblock b = f(x, v={text}, w=2)\n"
    with pytest.raises(SpecErrors) as info:
        parse(source, "big.rec")
    (error,) = info.value.errors
    assert error.message.startswith("number too large: ")
    assert (error.span.line, error.span.column, error.span.end_column) == (2, 18, 18 + len(text))
    assert "9,223,372,036,854,775,807" in error.hint and "1.8e308" in error.hint
    assert len(error.message) < 80  # a 5,000-digit literal is shown cut
    assert "big.rec:2:18: error: number too large" in info.value.render()


def test_numbers_too_small_are_located_errors():
    with pytest.raises(SpecErrors) as info:
        parse("model m\nfeature a : id(buckets=3, l2=1e-400)\noutput o = sigmoid(a, weight=1e-999)\n")
    first, second = info.value.errors
    assert (first.span.line, first.span.column, second.span.line) == (2, 30, 3)
    assert first.message == "number too small: 1e-400 is below the smallest float (about 5e-324) and would be read as 0"


def test_every_number_out_of_range_is_reported_in_one_run():
    with pytest.raises(SpecErrors) as info:
        parse("model m\nblock a = f(1e309, [1, 1e999])\nblock b = f(" + "7" * 500 + ")\n")
    assert [(e.span.line, e.span.column) for e in info.value.errors] == [(2, 13), (2, 24), (3, 13)]


@pytest.mark.parametrize("text", ["plain", 'q"uote', "back\\slash", "new\nline", "tab\t", "", "ü #"])
def test_escape_round_trips_through_the_grammar(text):
    literal = escape(text)
    assert unescape(literal) == text
    assert value_of(literal) == ast.Str(text)


# --- syntax errors ------------------------------------------------------------------------

def test_syntax_errors_are_all_reported_in_one_run():
    text = (
        "model m\n"
        "feature a : id(buckets=10 dim=4)\n"          # 2: missing comma
        "feature b : id(buckets=10)\n"                # fine
        "feature c = id(buckets=10)\n"                # 4: `=` for a feature
        "pool p : avg(a)\n"                           # 5: `:` for a pool
        "featur d : id(buckets=3)\n"                  # 6: misspelled keyword
        "output o = sigmoid(b\n"                      # 7: unclosed call
    )
    with pytest.raises(SpecErrors) as info:
        parse(text, "many.rec")
    found = [(e.span.file, e.span.line, e.span.column) for e in info.value.errors]
    assert found == [("many.rec", 2, 27), ("many.rec", 4, 11), ("many.rec", 5, 8), ("many.rec", 6, 1),
                     ("many.rec", 7, 21)]
    messages = [e.message for e in info.value.errors]
    assert messages[0] == "unexpected `dim`"
    assert messages[3] == "unknown statement `featur`"
    assert messages[4] == "the statement ends too early"
    rendered = info.value.render()
    for line, column in [(2, 27), (4, 11), (5, 8), (6, 1), (7, 21)]:
        assert f"many.rec:{line}:{column}: error:" in rendered


def test_syntax_error_is_a_spec_error_with_the_source():
    with pytest.raises(SpecErrors) as info:
        parse("model m\nfeature a : id(buckets=10))\n", "one.rec")
    (error,) = info.value.errors
    assert (error.span.line, error.span.column, error.severity) == (2, 27, "error")
    assert info.value.sources == {"one.rec": "model m\nfeature a : id(buckets=10))\n"}
    assert info.value.render().splitlines()[:3] == [
        "one.rec:2:27: error: unexpected `)`",
        "2 | feature a : id(buckets=10))",
        "                              ^",
    ]


def test_unterminated_string_and_single_quotes_are_lexical_errors():
    with pytest.raises(SpecErrors) as info:
        parse("model m\nfeature a : category(vocab=['x'])\nfeature b : category(vocab=[\"x])\n")
    first, second = info.value.errors
    assert (first.span.line, first.span.column, first.message) == (2, 29, "strings use double quotes")
    assert (second.span.line, second.span.column, second.message) == (3, 29, "unterminated string")


def test_error_recovery_keeps_continuation_lines_starting_with_a_keyword_argument():
    text = (
        "model m\n"
        "feature a : id(buckets=10)\n"
        "feature s : sequence(of=a, max_len=5)\n"
        "pool p = din(query=a, keys=s,\n"
        "             output=sequence)\n"       # valid: din's `output=` argument
        "block z = mlp(a, units=[3]\n"          # the only real error: unclosed call
    )
    with pytest.raises(SpecErrors) as info:
        parse(text)
    assert [(e.span.line, e.message) for e in info.value.errors] == [(6, "the statement ends too early")]


def test_error_recovery_keeps_continuation_lines_at_column_zero():
    text = (
        "model m\n"
        "feature a : id(buckets=10)\n"
        "block d = mlp(a,\n"
        "units=[3])\n"                          # valid continuation (newlines are not significant)
        "block z = mlp(a, units=[3]\n"          # the only real error
    )
    parse(text.replace("block z = mlp(a, units=[3]\n", ""))  # alone, it parses
    with pytest.raises(SpecErrors) as info:
        parse(text)
    assert [(e.span.line, e.message) for e in info.value.errors] == [(5, "the statement ends too early")]
