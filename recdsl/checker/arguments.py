"""Binding a call's arguments to an op's slots, and validating each argument against its kind."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recdsl.lang import ast
from recdsl.lang.span import Span
from recdsl.lang.suggest import did_you_mean
from recdsl.ops.context import OpContext, TypeProblem

KIND_TEXT = {
    "int": "an integer", "float": "a number", "bool": "true or false", "str": "a quoted string",
    "enum": "one of", "int_list": "a list of integers", "num_list": "a list of numbers",
    "str_list": "a list of quoted strings", "ref": "a node name", "table": "a feature name or id(...)/category(...)",
    "call": "a call",
}


@dataclass
class Problem:
    span: Span
    message: str
    hint: str = ""


class ArgProblem(Exception):
    def __init__(self, items: list[Problem]):
        super().__init__(items[0].message)
        self.items = items


@dataclass
class BoundCall:
    """A call's arguments sorted into the op's input slots and parameters."""

    call: ast.Call
    inputs: list = field(default_factory=list)  # (Input, [Expr, ...]) in declaration order
    params: dict = field(default_factory=dict)  # name -> Expr (given ones only)
    spans: dict = field(default_factory=dict)

    def span_of(self, name: str | None) -> Span | None:
        return self.spans.get(name)


def bind_call(spec, call: ast.Call, registry, skip_inputs: tuple[str, ...] = ()) -> BoundCall:
    """Match positional and keyword arguments to `spec`'s slots; report unknown, repeated and missing ones."""
    problems: list[Problem] = []
    bound = BoundCall(call)
    inputs = [i for i in spec.inputs if i.name not in skip_inputs]
    given: dict[str, list] = {}
    slots = [i.name for i in inputs] + [p.name for p in spec.params]
    variadic = next((i for i in inputs if i.variadic), None)
    for position, expr in enumerate(call.args):
        if variadic is not None:
            given.setdefault(variadic.name, []).append(expr)
            bound.spans.setdefault(variadic.name, expr.span)
        elif position < len(slots):
            given[slots[position]] = [expr]
            bound.spans[slots[position]] = expr.span
        else:
            problems.append(Problem(expr.span, f"{spec.name} takes at most {len(slots)} positional argument(s)",
                                    "name the extra argument, e.g. units=[...]"))
    for kw in call.kwargs:
        if kw.name not in slots:
            guess = did_you_mean(kw.name, slots)
            problems.append(Problem(kw.span, f"{spec.name} has no argument `{kw.name}`",
                                    (guess + " " if guess else "") + f"{spec.name} takes: " + ", ".join(slots)))
        elif kw.name in given:
            problems.append(Problem(kw.span, f"argument `{kw.name}` is given twice", "keep one of them"))
        else:
            given[kw.name] = [kw.value]
            bound.spans[kw.name] = kw.value.span
    for slot in inputs:
        if slot.name in given:
            bound.inputs.append((slot, given[slot.name]))
        elif not slot.optional:
            problems.append(Problem(call.span, f"{spec.name} needs its `{slot.name}` input",
                                    f"e.g. {spec.example}" if spec.example else ""))
    for param in spec.params:
        if param.name in given:
            bound.params[param.name] = given[param.name][0]
        elif param.required:
            problems.append(Problem(call.span, f"{spec.name} needs `{param.name}=`",
                                    f"e.g. {spec.example}" if spec.example else param.doc))
    if problems:
        raise ArgProblem(problems)
    return bound


def value_of(value):
    """A JSON-able form of a resolved argument value."""
    if isinstance(value, tuple):
        return [value_of(v) for v in value]
    if isinstance(value, list):
        return [value_of(v) for v in value]
    if isinstance(value, dict):
        return {k: value_of(v) for k, v in value.items()}
    return value


def resolve_args(checker, spec, bound: BoundCall, owner: str, ctx: OpContext, bindings: list) -> dict:
    """Every parameter's value (defaults filled in), validated by kind; reports all problems."""
    from recdsl.checker.checker import _Poisoned

    args, ok = {}, True
    for param in spec.params:
        expr = bound.params.get(param.name)
        if expr is None:
            args[param.name] = param.default
            continue
        try:
            args[param.name] = _value(checker, param, expr, owner, ctx, bindings)
        except TypeProblem as problem:
            checker.error(expr.span, problem.message, problem.hint)
            ok = False
        except ArgProblem as problems:
            for p in problems.items:
                checker.error(p.span, p.message, p.hint)
            ok = False
        except _Poisoned:
            ok = False
    if not ok:
        raise _Poisoned(owner)
    return args


def _value(checker, param, expr, owner, ctx, bindings):
    kind = param.kind
    if kind in ("int", "float"):
        return _number(param, expr)
    if kind == "bool":
        if not isinstance(expr, ast.Bool):
            raise _wrong(param, expr)
        return expr.value
    if kind == "str":
        if not isinstance(expr, ast.Str):
            hint = f'quote it: "{expr.id}"' if isinstance(expr, ast.Name) else ""
            raise _wrong(param, expr, hint)
        return _file_value(checker, param, expr, ctx) if param.name == "vocab_file" else expr.value
    if kind == "enum":
        return _enum(param, expr)
    if kind in ("int_list", "num_list", "str_list"):
        return _list(param, expr)
    if kind == "ref":
        return _ref(checker, param, expr, owner, ctx)
    if kind == "table":
        return _table(checker, param, expr, owner, ctx)
    return _nested_gate(checker, param, expr, owner, ctx, bindings)


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
    value = expr.value if param.kind == "int" else float(expr.value)
    if param.low is not None and value < param.low:
        raise TypeProblem(f"`{param.name}` must be at least {param.low:g}, got {value:g}", param.doc)
    if param.high is not None and value > param.high:
        raise TypeProblem(f"`{param.name}` must be at most {param.high:g}, got {value:g}", param.doc)
    return value


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
    if not items and param.name != "vocab":
        raise TypeProblem(f"`{param.name}` is an empty list", param.doc)
    want = {"int_list": (ast.Num,), "num_list": (ast.Num,), "str_list": (ast.Str,)}[param.kind]
    for item in items:
        if not isinstance(item, want) or (param.kind == "int_list" and not isinstance(item.value, int)):
            raise TypeProblem(f"`{param.name}` must be {KIND_TEXT[param.kind]}, got {_show(item)}", param.doc)
        if param.kind == "int_list" and item.value < 1 and param.name == "units":
            raise TypeProblem(f"`{param.name}` sizes must be positive, got {item.value}", param.doc)
    if param.kind == "str_list" and not items:
        raise TypeProblem(f"`{param.name}` is an empty list", "list at least one value")
    return [item.value for item in items]


def _file_value(checker, param, expr, ctx) -> str:
    if "\x00" in expr.value:
        raise TypeProblem(f"vocabulary file path {expr.value!r} contains a NUL character",
                          "write the file's path, relative to the .rec file, e.g. vocab_file=\"genres.txt\"")
    path = Path(expr.value)
    full = path if path.is_absolute() else ctx.extra["spec_dir"] / path
    try:
        data = full.read_bytes()
    except FileNotFoundError:
        raise TypeProblem(f"vocabulary file {expr.value!r} not found (looked in {full.parent})",
                          "vocab_file paths are relative to the .rec file") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TypeProblem(f"vocabulary file {expr.value!r} cannot be read: {reason}",
                          "vocab_file names a readable text file, one value per line, relative to the .rec file"
                          ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TypeProblem(f"vocabulary file {expr.value!r} is not UTF-8 text "
                          f"(byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line})",
                          "save the file as UTF-8, one value per line") from None
    values = {ln.strip() for ln in text.splitlines() if ln.strip()}
    if not values:
        raise TypeProblem(f"vocabulary file {expr.value!r} is empty", "write one value per line")
    ctx.extra["vocab_size"] = len(values)
    return expr.value


def _ref(checker, param, expr, owner, ctx):
    if not isinstance(expr, ast.Name):
        raise _wrong(param, expr)
    target = checker._resolve(expr.id, expr)
    root = target.shares if target.share_kind == "weights" else target.name
    if target.op != ctx.op.name:
        raise TypeProblem(f"`{owner}` ({ctx.op.name}) cannot share the weights of `{target.name}` ({target.op})",
                          f"share= names another {ctx.op.name} node")
    ctx.extra.setdefault("refs", {})[param.name] = root
    return expr.id


def _table(checker, param, expr, owner, ctx):
    if isinstance(expr, ast.Name):
        target = checker._resolve(expr.id, expr)
        if target.kind != "feature" or (target.op not in param.calls and target.share_kind != "table"
                                        and target.op not in ("multi", "sequence")):
            raise TypeProblem(f"`{expr.id}` is a {target.op} {target.kind}; `of` names an id or category feature",
                              "e.g. sequence(of=item_id, max_len=50)")
        root = checker.nodes[target.shares] if target.share_kind == "table" else target
        if root.op not in param.calls:
            raise TypeProblem(f"`{expr.id}` has no embedding table to share", "name an id or category feature")
        ctx.extra.update(of_type=root.type, of_params=0)
        ctx.extra.setdefault("refs", {})["of"] = root.name
        return expr.id
    if isinstance(expr, ast.Call):
        if expr.op not in param.calls:
            raise TypeProblem(f"`of` takes {' or '.join(c + '(...)' for c in param.calls)}, not {expr.op}(...)",
                              "e.g. multi(category(vocab_file=\"genres.txt\", dim=8), max_len=6)")
        spec = checker.registry[expr.op]
        bound = bind_call(spec, expr, checker.registry)
        inner = OpContext(spec, {}, {}, {}, {"spec_dir": ctx.extra["spec_dir"]})
        inner.args.update(resolve_args(checker, spec, bound, owner, inner, []))
        try:
            out = spec.infer(inner)
            count = spec.count(inner, out)
        except TypeProblem as problem:
            raise TypeProblem(problem.message, problem.hint) from None
        ctx.extra.update(of_type=out, of_params=count)
        return {"op": expr.op, **inner.args}
    raise _wrong(param, expr)


def _nested_gate(checker, param, expr, owner, ctx, bindings):
    if not isinstance(expr, ast.Call) or expr.op not in param.calls:
        raise TypeProblem(f"`{param.name}` takes {' or '.join(c + '(...)' for c in param.calls)}, got {_show(expr)}",
                          param.doc)
    spec = checker.registry[expr.op]
    bound = bind_call(spec, expr, checker.registry, skip_inputs=("x",))
    inner = OpContext(spec, {}, {}, {}, dict(ctx.extra))
    by_type = None
    for slot, exprs in bound.inputs:
        by_type, slot_bindings = checker._input(spec, slot, exprs, owner, inner)
        bindings.extend(type(b)(f"{param.name}.{b.role}", b.members, b.is_list) for b in slot_bindings)
    inner.args.update(resolve_args(checker, spec, bound, owner, inner, bindings))
    ctx.extra["gate_by_width"] = by_type.size
    by = [m for b in bindings if b.role == f"{param.name}.by" for m in b.members]
    return {"op": expr.op, "by": by, **inner.args}
