"""Binding a call's arguments to an op's input slots and parameters, by position or keyword."""
from __future__ import annotations

from dataclasses import dataclass, field

from recdsl.checker.problems import ArgProblem, Problem
from recdsl.lang import ast
from recdsl.lang.span import Span
from recdsl.lang.suggest import did_you_mean


@dataclass
class BoundCall:
    """A call's arguments sorted into the op's input slots and parameters."""

    call: ast.Call
    inputs: list = field(default_factory=list)  # (Input, [Expr, ...]) in declaration order
    params: dict = field(default_factory=dict)  # name -> Expr (given ones only)
    spans: dict = field(default_factory=dict)

    def span_of(self, name: str | None) -> Span | None:
        return self.spans.get(name)


def bind_call(spec, call: ast.Call, skip_inputs: tuple[str, ...] = ()) -> BoundCall:
    """Match positional and keyword arguments to `spec`'s slots; report unknown, repeated and missing ones."""
    problems: list[Problem] = []
    bound = BoundCall(call)
    inputs = [i for i in spec.inputs if i.name not in skip_inputs]
    slots = [i.name for i in inputs] + [p.name for p in spec.params]
    given = _given(spec, call, inputs, slots, bound, problems)
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


def _given(spec, call: ast.Call, inputs, slots: list[str], bound: BoundCall, problems: list[Problem]) -> dict:
    """Slot name -> the expressions given for it, positional ones first, then keywords."""
    given: dict[str, list] = {}
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
    return given
