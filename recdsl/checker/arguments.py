"""Validating a call's argument values against the kinds and bounds their parameters declare
(recdsl.ops.params.Param). Names are resolved through a Resolver the checker passes in."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

from recdsl.checker.binding import BoundCall, bind_call
from recdsl.checker.problems import ArgProblem, Poisoned
from recdsl.checker.spec import Binding, Node
from recdsl.lang import ast
from recdsl.lang.numbers import MAX_INT
from recdsl.lang.span import Span
from recdsl.lang.suggest import did_you_mean
from recdsl.ops import load
from recdsl.ops.context import OpContext, TableInfo, TypeProblem
from recdsl.ops.vocab import (
    VocabFileEmpty,
    VocabFileNotFound,
    VocabFileNotUtf8,
    VocabFileTooLarge,
    VocabFileUnreadable,
    read_vocab_file,
)

KIND_TEXT = {
    "int": "an integer", "float": "a number", "bool": "true or false", "str": "a quoted string",
    "enum": "one of", "int_list": "a list of integers", "num_list": "a list of numbers",
    "str_list": "a list of quoted strings", "ref": "a node name", "table": "a feature name or id(...)/category(...)",
    "call": "a call",
}
LIST_ITEMS = {"int_list": (ast.Num,), "num_list": (ast.Num,), "str_list": (ast.Str,)}


class Resolver(Protocol):
    """What validating arguments asks of the checker."""

    def resolve(self, name: str, ref: ast.Name | None) -> Node:
        """The checked node `name` (checked now if need be; `ref` marks it used). Raises Poisoned."""

    def input(self, spec, slot, exprs: list, owner: str, ctx: OpContext) -> tuple[Any, list[Binding]]:
        """Resolve and coerce one input slot of a nested call; records it in `ctx`. Raises Poisoned."""

    def error(self, span: Span, message: str, hint: str = "") -> None:
        """Report a problem."""


def value_of(value):
    """A JSON-able form of a resolved argument value."""
    if isinstance(value, (tuple, list)):
        return [value_of(v) for v in value]
    if isinstance(value, dict):
        return {k: value_of(v) for k, v in value.items()}
    return value


def resolve_args(resolver: Resolver, spec, bound: BoundCall, owner: str, ctx: OpContext, bindings: list) -> dict:
    """Every parameter's value (defaults filled in), validated by kind; reports all problems."""
    args, ok = {}, True
    for param in spec.params:
        expr = bound.params.get(param.name)
        if expr is None:
            args[param.name] = param.default
            continue
        try:
            args[param.name] = _value(resolver, param, expr, owner, ctx, bindings)
        except TypeProblem as problem:
            resolver.error(expr.span, problem.message, problem.hint)
            ok = False
        except ArgProblem as problems:
            for p in problems.items:
                resolver.error(p.span, p.message, p.hint)
            ok = False
        except Poisoned:
            ok = False
    if not ok:
        raise Poisoned(owner)
    return args


def _value(resolver, param, expr, owner, ctx, bindings):
    kind = param.kind
    if kind in ("int", "float"):
        return _number(param, expr)
    if kind == "bool":
        if not isinstance(expr, ast.Bool):
            raise _wrong(param, expr)
        return expr.value
    if kind == "str":
        return _text(param, expr, ctx)
    if kind == "enum":
        return _enum(param, expr)
    if kind in LIST_ITEMS:
        return _list(param, expr)
    if kind == "ref":
        return _ref(resolver, param, expr, owner, ctx)
    if kind == "table":
        return _table(resolver, param, expr, owner, ctx)
    return _nested_call(resolver, param, expr, owner, ctx, bindings)


def _wrong(param, expr, hint: str = "") -> TypeProblem:
    want = KIND_TEXT[param.kind]
    if param.kind == "enum":
        want += " " + ", ".join(param.choices)
    return TypeProblem(f"`{param.name}` must be {want}, got {_show(expr)}", hint or param.doc)


def _show(expr) -> str:
    if isinstance(expr, ast.Name):
        return f"`{expr.id}`"
    if isinstance(expr, ast.Str):
        return f'"{expr.value}"'
    if isinstance(expr, (ast.Num, ast.Bool)):
        return str(expr.value).lower() if isinstance(expr, ast.Bool) else str(expr.value)
    if isinstance(expr, ast.ListExpr):
        return "a list"
    return f"a call to {expr.op}(...)"


def _number(param, expr):
    if not isinstance(expr, ast.Num) or (param.kind == "int" and not isinstance(expr.value, int)):
        raise _wrong(param, expr)
    _finite(param, expr.value)
    value = expr.value if param.kind == "int" else float(expr.value)
    if param.low is not None and value < param.low:
        raise TypeProblem(f"`{param.name}` must be at least {param.low:g}, got {value:g}", param.doc)
    if param.high is not None and value > param.high:
        raise TypeProblem(f"`{param.name}` must be at most {param.high:g}, got {value:g}", param.doc)
    return value


def _text(param, expr, ctx: OpContext) -> str:
    if not isinstance(expr, ast.Str):
        hint = f'quote it: "{expr.id}"' if isinstance(expr, ast.Name) else ""
        raise _wrong(param, expr, hint)
    if len(expr.value) < param.min_length:
        raise TypeProblem(f"`{param.name}` is empty" if param.min_length == 1 else
                          f"`{param.name}` needs at least {param.min_length} characters", param.doc)
    if param.file == "vocab":
        ctx.vocab_size = len(_vocab_file(param, expr.value, ctx.spec_dir))
    return expr.value


def _vocab_file(param, written: str, spec_dir: Path) -> list[str]:
    """The values of the vocabulary file `written` (as the spec spells it), or a TypeProblem."""
    if "\x00" in written:
        raise TypeProblem(f"vocabulary file path {written!r} contains a NUL character",
                          f"write the file's path, relative to the .rec file, e.g. {param.name}=\"genres.txt\"")
    path = Path(written)
    full = path if path.is_absolute() else spec_dir / path
    try:
        return read_vocab_file(full)
    except VocabFileNotFound:
        raise TypeProblem(f"vocabulary file {written!r} not found (looked in {full.parent})",
                          f"{param.name} paths are relative to the .rec file") from None
    except VocabFileUnreadable as exc:
        raise TypeProblem(f"vocabulary file {written!r} cannot be read: {exc.reason}",
                          f"{param.name} names a readable text file, one value per line, relative to the .rec file"
                          ) from None
    except VocabFileNotUtf8 as exc:
        raise TypeProblem(f"vocabulary file {written!r} is not UTF-8 text "
                          f"(byte 0x{exc.byte:02x} at offset {exc.offset}, line {exc.line})",
                          "save the file as UTF-8, one value per line") from None
    except VocabFileTooLarge as exc:
        raise TypeProblem(f"vocabulary file {written!r} is too large: {exc.what}", exc.hint) from None
    except VocabFileEmpty:
        raise TypeProblem(f"vocabulary file {written!r} is empty", "write one value per line") from None


def _enum(param, expr):
    if not isinstance(expr, (ast.Name, ast.Str)):
        raise _wrong(param, expr)
    word = expr.id if isinstance(expr, ast.Name) else expr.value
    if word not in param.choices:
        guess = did_you_mean(word, param.choices)
        raise TypeProblem(f"`{param.name}` must be one of {', '.join(param.choices)}, got `{word}`", guess)
    return word


def _list(param, expr):
    items = expr.items if isinstance(expr, ast.ListExpr) else (expr,)
    if len(items) < param.min_items:
        if not items:
            raise TypeProblem(f"`{param.name}` is an empty list", param.empty_hint or param.doc)
        raise TypeProblem(f"`{param.name}` needs at least {param.min_items} values, got {len(items)}", param.doc)
    for item in items:
        if not isinstance(item, LIST_ITEMS[param.kind]) or (param.kind == "int_list"
                                                            and not isinstance(item.value, int)):
            raise TypeProblem(f"`{param.name}` must be {KIND_TEXT[param.kind]}, got {_show(item)}", param.doc)
        if param.kind != "str_list":
            _item_bounds(param, item.value)
    return [item.value for item in items]


def _finite(param, value) -> None:
    """Refuse what a 64-bit number cannot hold, and non-finite values where `param.finite`.
    (.rec and YAML refuse these when read; this holds for specs built in Python too.)"""
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise TypeProblem(f"`{param.name}` is too large: numbers of a spec are at most {MAX_INT:,}", param.doc)
    if param.finite and isinstance(value, float) and not math.isfinite(value):
        raise TypeProblem(f"`{param.name}` must be a finite number, got {value}", param.doc)


def _item_bounds(param, value) -> None:
    _finite(param, value)
    if param.low is not None and value < param.low:
        if param.kind == "int_list" and param.low == 1:
            raise TypeProblem(f"`{param.name}` sizes must be positive, got {value}", param.doc)
        raise TypeProblem(f"`{param.name}` values must be at least {param.low:g}, got {value:g}", param.doc)
    if param.high is not None and value > param.high:
        raise TypeProblem(f"`{param.name}` values must be at most {param.high:g}, got {value:g}", param.doc)


def _ref(resolver, param, expr, owner, ctx):
    if not isinstance(expr, ast.Name):
        raise _wrong(param, expr)
    target = resolver.resolve(expr.id, expr)
    # a node reusing a whole layer stands for its owner; one borrowing some roles has its own layer
    root = target.shares if target.share_kind == "weights" and not target.borrows else target.name
    if target.op != ctx.op.name and not (ctx.op.weights and load()[target.op].weights):
        across = sorted(n for n, op in load().items() if op.weights) if ctx.op.weights else []
        raise TypeProblem(f"`{owner}` ({ctx.op.name}) cannot share the weights of `{target.name}` ({target.op})",
                          f"share= names another {ctx.op.name} node"
                          + (f", or a node of {', '.join(across)} (weights by role)" if across else ""))
    ctx.refs[param.name] = root
    return expr.id


def _table(resolver, param, expr, owner, ctx):
    if isinstance(expr, ast.Name):
        target = resolver.resolve(expr.id, expr)
        if target.kind != "feature" or (target.op not in param.calls and target.share_kind != "table"
                                        and load()[target.op].feature != "rows"):
            raise TypeProblem(f"`{expr.id}` is a {target.op} {target.kind}; `of` names an id or category feature",
                              "e.g. sequence(of=item_id, max_len=50)")
        root = resolver.resolve(target.shares, None) if target.share_kind == "table" else target
        if root.op not in param.calls:
            raise TypeProblem(f"`{expr.id}` has no embedding table to share", "name an id or category feature")
        ctx.table = TableInfo(root.type, 0, root.name)
        return expr.id
    if isinstance(expr, ast.Call):
        if expr.op not in param.calls:
            raise TypeProblem(f"`of` takes {' or '.join(c + '(...)' for c in param.calls)}, not {expr.op}(...)",
                              "e.g. multi(category(vocab_file=\"genres.txt\", dim=8), max_len=6)")
        spec = load()[expr.op]
        inner = OpContext(spec, {}, {}, spec_dir=ctx.spec_dir)
        inner.args.update(resolve_args(resolver, spec, bind_call(spec, expr), owner, inner, []))
        try:
            out = spec.infer(inner)
            count = spec.count(inner, out)
        except TypeProblem as problem:
            raise TypeProblem(problem.message, problem.hint) from None
        ctx.table = TableInfo(out, count)
        return {"op": expr.op, **inner.args}
    raise _wrong(param, expr)


def _nested_call(resolver, param, expr, owner, ctx, bindings):
    """A call argument (mlp's gate=poso(by=...)): its own inputs join the node's bindings as `param.slot`."""
    if not isinstance(expr, ast.Call) or expr.op not in param.calls:
        raise TypeProblem(f"`{param.name}` takes {' or '.join(c + '(...)' for c in param.calls)}, got {_show(expr)}",
                          param.doc)
    spec = load()[expr.op]
    bound = bind_call(spec, expr, skip_inputs=("x",))
    inner = OpContext(spec, {}, {}, spec_dir=ctx.spec_dir)
    by_type = None
    for slot, exprs in bound.inputs:
        by_type, slot_bindings = resolver.input(spec, slot, exprs, owner, inner)
        bindings.extend(Binding(f"{param.name}.{b.role}", b.members, b.is_list) for b in slot_bindings)
    inner.args.update(resolve_args(resolver, spec, bound, owner, inner, bindings))
    ctx.gate_by_width = by_type.size
    by = [m for b in bindings if b.role == f"{param.name}.by" for m in b.members]
    return {"op": expr.op, "by": by, **inner.args}
