"""Argument rules live on the parameter (recdsl.ops.params.Param), the vocabulary file is read by
one function (recdsl.ops.vocab) for the checker and the data side, and the checker package's
imports form no cycle."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import recdsl.checker
from recdsl.checker import arguments
from recdsl.checker.arguments import resolve_args
from recdsl.checker.binding import bind_call
from recdsl.checker.checker import check
from recdsl.checker.problems import Poisoned
from recdsl.lang import ast as rec
from recdsl.ops import load, vocab
from recdsl.ops.context import OpContext
from recdsl.ops.params import Param
from recdsl.ops.registry import OpSpec
from recdsl.ops.vocab import (
    VocabFileEmpty,
    VocabFileError,
    VocabFileNotFound,
    VocabFileNotUtf8,
    VocabFileTooLarge,
    VocabFileUnreadable,
    read_vocab_file,
)

CHECKER = Path(recdsl.checker.__file__).parent


class Recorder:
    """A Resolver that knows no names and records what is reported."""

    def __init__(self):
        self.errors = []

    def resolve(self, name, ref):
        raise Poisoned(name)

    def input(self, spec, slot, exprs, owner, ctx):
        raise Poisoned(owner)

    def error(self, span, message, hint=""):
        self.errors.append((message, hint))


def validate(param: Param, value: rec.Expr, spec_dir: Path = Path(".")):
    """Resolve one argument of a made-up op declaring only `param`: (value or None, errors, context)."""
    spec = OpSpec(name="probe", family="block", label="probe", summary="", inputs=(), params=(param,),
                  infer=lambda ctx: None, count=lambda ctx, out: 0)
    call = rec.Call("probe", (), (rec.KwArg(param.name, value),))
    ctx, recorder = OpContext(spec, {}, {}, spec_dir=spec_dir), Recorder()
    try:
        args = resolve_args(recorder, spec, bind_call(spec, call), "node", ctx, [])
    except Poisoned:
        return None, recorder.errors, ctx
    return args[param.name], recorder.errors, ctx


def nums(*values):
    return rec.ListExpr(tuple(rec.Num(v) for v in values))


def test_checker_imports_form_no_cycle():
    edges = {}
    for path in CHECKER.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("recdsl.checker."):
                deps.add(node.module.rsplit(".", 1)[1])
            elif isinstance(node, ast.Import):
                deps.update(a.name.rsplit(".", 1)[1] for a in node.names if a.name.startswith("recdsl.checker."))
        edges[path.stem] = deps
    done, visiting = set(), []

    def visit(module):
        assert module not in visiting, "import cycle: " + " -> ".join(visiting[visiting.index(module):] + [module])
        if module in done:
            return
        visiting.append(module)
        for dep in edges.get(module, ()):
            visit(dep)
        visiting.pop()
        done.add(module)

    for module in edges:
        visit(module)


def test_package_exports_check():
    assert recdsl.checker.check is check


def test_list_items_are_bounded_by_low():
    _, errors, _ = validate(Param("sizes", "int_list", low=1, doc="widths"), nums(3, 0))
    assert errors == [("`sizes` sizes must be positive, got 0", "widths")]
    value, errors, _ = validate(Param("sizes", "int_list", low=1), nums(3, 1))
    assert (value, errors) == ([3, 1], [])


def test_list_without_bounds_takes_any_item():
    value, errors, _ = validate(Param("offsets", "int_list"), nums(0, -2))
    assert (value, errors) == ([0, -2], [])


def test_num_list_items_below_low_and_above_high():
    _, errors, _ = validate(Param("edges", "num_list", low=0.5, high=2, doc="d"), nums(1, 0.25))
    assert errors == [("`edges` values must be at least 0.5, got 0.25", "d")]
    _, errors, _ = validate(Param("edges", "num_list", low=0.5, high=2, doc="d"), nums(1, 3))
    assert errors == [("`edges` values must be at most 2, got 3", "d")]


def test_empty_list_reports_empty_hint_else_doc():
    assert validate(Param("xs", "str_list", doc="the values"), nums())[1] == [("`xs` is an empty list", "the values")]
    assert validate(Param("xs", "str_list", doc="the values", empty_hint="list one"), nums())[1] == [
        ("`xs` is an empty list", "list one")]


def test_min_items():
    value, errors, _ = validate(Param("xs", "int_list", min_items=0), nums())
    assert (value, errors) == ([], [])
    _, errors, _ = validate(Param("xs", "int_list", min_items=2, doc="d"), nums(1))
    assert errors == [("`xs` needs at least 2 values, got 1", "d")]


def test_the_registry_declares_the_old_name_keyed_rules():
    ops = load()
    assert ops["mlp"].param("units").low == 1 and ops["din"].param("units").low == 1
    assert ops["category"].param("vocab").empty_hint == "list at least one value"
    assert ops["category"].param("vocab_file").file == "vocab"
    assert not any(p.file for spec in ops.values() for p in spec.params if p.name != "vocab_file")


def test_a_vocab_file_argument_is_counted_into_the_context(tmp_path):
    (tmp_path / "v.txt").write_text("a\n b \n\na\nc\n", encoding="utf-8")
    value, errors, ctx = validate(Param("words", "str", file="vocab"), rec.Str("v.txt"), tmp_path)
    assert (value, errors, ctx.vocab_size) == ("v.txt", [], 3)
    _, errors, _ = validate(Param("words", "str", file="vocab"), rec.Str("none.txt"), tmp_path)
    assert errors == [(f"vocabulary file 'none.txt' not found (looked in {tmp_path})",
                       "words paths are relative to the .rec file")]


def test_file_is_only_for_str_and_known_kinds():
    with pytest.raises(ValueError):
        Param("x", "int", file="vocab")
    with pytest.raises(ValueError):
        Param("x", "str", file="image")


def test_the_data_side_reads_vocabulary_files_with_the_same_function():
    from recdsl.data import schema

    assert schema.read_vocab_file is read_vocab_file
    assert arguments.read_vocab_file is read_vocab_file


def test_read_vocab_file(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"\xef\xbb\xbf b\r\na\n\n  \nb\nc \n")
    assert read_vocab_file(path) == ["b", "a", "c"]
    assert read_vocab_file(str(path)) == ["b", "a", "c"]


@pytest.mark.parametrize("content, error", [
    (None, VocabFileNotFound),
    (b"\n  \n", VocabFileEmpty),
    (b"ok\ncaf\xe9\n", VocabFileNotUtf8),
])
def test_read_vocab_file_errors(tmp_path, content, error):
    path = tmp_path / "v.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error) as caught:
        read_vocab_file(path)
    assert isinstance(caught.value, VocabFileError) and caught.value.path == path
    if error is VocabFileNotUtf8:
        assert (caught.value.byte, caught.value.offset, caught.value.line) == (0xE9, 6, 2)


def test_read_vocab_file_of_a_folder(tmp_path):
    with pytest.raises(VocabFileUnreadable) as caught:
        read_vocab_file(tmp_path)
    assert caught.value.reason


# --- numbers that must be finite, strings that must not be empty ----------------------------------

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("param", [Param("l2", "float", 0.0, low=0.0, doc="d"), Param("scale", "float", 1.0, doc="d")])
@pytest.mark.parametrize("value", [INF, -INF, NAN])
def test_finite_is_declared_on_the_param_and_refuses_inf_and_nan(param, value):
    _, errors, _ = validate(param, rec.Num(value))
    assert errors == [(f"`{param.name}` must be a finite number, got {value}", "d")]


def test_finite_applies_to_numeric_list_items():
    _, errors, _ = validate(Param("boundaries", "num_list", doc="d"), nums(-INF, 0.0, INF))
    assert errors == [("`boundaries` must be a finite number, got -inf", "d")]
    value, errors, _ = validate(Param("boundaries", "num_list", doc="d"), nums(-1e308, 1e308))
    assert (value, errors) == ([-1e308, 1e308], [])


def test_a_param_may_allow_infinity():
    value, errors, _ = validate(Param("cap", "float", finite=False), rec.Num(INF))
    assert (value, errors) == (INF, [])


def test_every_numeric_param_of_the_registry_is_finite():
    numeric = [(op.name, p.name) for op in load().values() for p in op.params
               if p.kind in ("int", "float", "int_list", "num_list")]
    assert numeric and all(load()[op].param(name).finite for op, name in numeric)


@pytest.mark.parametrize("kind", ["int", "float"])
def test_integers_beyond_64_bits_are_refused_not_overflowed(kind):
    """An AST made in Python can hold any int; binding a 400-digit one to a float used to raise OverflowError."""
    _, errors, _ = validate(Param("dropout", kind, 0.0, low=0.0, high=0.99, doc="d"), rec.Num(10**400))
    assert errors == [("`dropout` is too large: numbers of a spec are at most 9,223,372,036,854,775,807", "d")]


def test_min_length_refuses_an_empty_string():
    _, errors, _ = validate(Param("sep", "str", "^", min_length=1, doc="separator"), rec.Str(""))
    assert errors == [("`sep` is empty", "separator")]
    _, errors, _ = validate(Param("code", "str", min_length=3, doc="d"), rec.Str("ab"))
    assert errors == [("`code` needs at least 3 characters", "d")]
    assert validate(Param("sep", "str", "^", min_length=1), rec.Str("|"))[:2] == ("|", [])
    with pytest.raises(ValueError):
        Param("n", "int", min_length=1)


def test_the_registry_refuses_empty_separators_columns_and_labels():
    ops = load()
    assert ops["sequence"].param("sep").min_length == 1 and ops["multi"].param("sep").min_length == 1
    assert all(ops[op].param("column").min_length == 1 for op in ("id", "category", "numeric", "multi", "sequence"))
    assert ops["sigmoid"].param("label").min_length == 1


# --- vocabulary files of any size, or not files at all ------------------------------------------

def test_a_device_is_refused_without_reading_it():
    with pytest.raises(VocabFileUnreadable) as caught:
        read_vocab_file("/dev/zero")
    assert caught.value.reason == "it is a character device, not a regular file"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(VocabFileUnreadable) as caught:
        read_vocab_file(fifo)  # opening it for reading would block until a writer came
    assert "FIFO" in caught.value.reason


def test_a_file_over_the_byte_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(vocab, "MAX_BYTES", 2**20)
    path = tmp_path / "big.txt"
    path.write_bytes(b"v\n" * 2**19 + b"w")
    with pytest.raises(VocabFileTooLarge) as caught:
        read_vocab_file(path)
    assert caught.value.what == "over 1 MiB"
    path.write_bytes(b"v\n" * 2**19)
    assert read_vocab_file(path) == ["v"]


def test_a_file_over_the_line_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(vocab, "MAX_LINES", 10)
    path = tmp_path / "many.txt"
    path.write_text("".join(f"v{i}\n" for i in range(11)))
    with pytest.raises(VocabFileTooLarge) as caught:
        read_vocab_file(path)
    assert caught.value.what == "more than 10 lines"
    path.write_text("".join(f"v{i}\n" for i in range(10)))
    assert len(read_vocab_file(path)) == 10


def test_the_limits_are_documented_numbers():
    assert vocab.MAX_BYTES == 64 * 2**20 and vocab.MAX_LINES == 4_000_000


def test_a_vocab_file_too_large_is_a_problem_naming_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(vocab, "MAX_LINES", 2)
    (tmp_path / "v.txt").write_text("a\nb\nc\n")
    _, errors, _ = validate(Param("words", "str", file="vocab"), rec.Str("v.txt"), tmp_path)
    assert errors == [("vocabulary file 'v.txt' is too large: more than 2 lines",
                       "hash a vocabulary that large with id(buckets=...), or learn it from data with max_tokens=")]
