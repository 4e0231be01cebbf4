"""AST -> the YAML form of a spec (recdsl.lang.yamlform): one mapping entry per statement, in
flow style where it fits in WIDTH columns."""
from __future__ import annotations

import math

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from recdsl.lang import ast
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.limits import deep_recursion, too_deep
from recdsl.lang.yaml_dialect import BOOL, FLOAT, INT, KW, MAP, REF, SEQ, STR, TEXT, SpecDumper, declares, text_slot

WIDTH = 100


def dump_yaml(spec: ast.Spec) -> str:
    """The YAML form of `spec`; `load_yaml(dump_yaml(spec)) == spec`.

    Raises SpecErrors when two statements share a name (a YAML mapping cannot hold both).
    """
    _check_unique_names(spec)
    pairs = [(_word("model"), _word(spec.name))]
    if spec.doc:
        pairs.append((_word("doc"), _text(spec.doc)))
    with deep_recursion():
        try:
            body = [(_word(st.name), _fit(_statement_node(st), 2, 4 + len(st.name))) for st in spec.statements]
            pairs.append((_word("spec"), MappingNode(MAP, body, flow_style=False)))
            return _serialize(MappingNode(MAP, pairs, flow_style=False))
        except RecursionError:
            raise SpecErrors([too_deep(spec.span, "to write as YAML")]) from None


def _check_unique_names(spec: ast.Spec) -> None:
    first: dict[str, ast.Statement] = {}
    errors = []
    for st in spec.statements:
        if st.name in first:
            errors.append(SpecError(st.name_span, f"`{st.name}` is defined twice "
                                    f"(first on line {first[st.name].name_span.line})",
                                    "the YAML form needs a unique name per statement"))
        first.setdefault(st.name, st)
    if errors:
        raise SpecErrors(errors)


def _statement_node(st: ast.Statement) -> MappingNode:
    if st.kind == "group" and isinstance(st.value, ast.ListExpr):
        return MappingNode(MAP, [(_word("group"), _expr_node(st.value, False))], flow_style=True)
    if st.kind not in ast.STATEMENT_KINDS or st.kind == "group" or not isinstance(st.value, ast.Call):
        raise ValueError(f"statement `{st.name}`: a {st.kind} has no YAML form for {type(st.value).__name__}")
    call = st.value
    reserved = ("args", *(kind for kind in ast.STATEMENT_KINDS if not declares(call.op, kind)))
    pairs = [(_word(st.kind), _word(call.op)), *_argument_pairs(call, reserved)]
    return MappingNode(MAP, pairs, flow_style=True)


def _argument_pairs(call: ast.Call, reserved: tuple[str, ...]) -> list:
    pairs = []
    if call.args:
        pairs.append((_word("args"), _positional_node(call)))
    for kw in call.kwargs:
        key = ScalarNode(KW, kw.name) if kw.name in reserved else _word(kw.name)
        pairs.append((key, _expr_node(kw.value, text_slot(call.op, name=kw.name))))
    return pairs


def _positional_node(call: ast.Call) -> SequenceNode:
    items = [_expr_node(arg, text_slot(call.op, position=i)) for i, arg in enumerate(call.args)]
    return SequenceNode(SEQ, items, flow_style=True)


def _expr_node(expr: ast.Expr, text_slot: bool) -> Node:
    if isinstance(expr, ast.Name):
        return ScalarNode(REF, expr.id) if text_slot else _word(expr.id)
    if isinstance(expr, ast.Str):
        return _text(expr.value) if text_slot else ScalarNode(TEXT, expr.value, style='"')
    if isinstance(expr, ast.Bool):
        return ScalarNode(BOOL, "true" if expr.value else "false")
    if isinstance(expr, ast.Num):
        return _number_node(expr.value)
    if isinstance(expr, ast.ListExpr):
        return SequenceNode(SEQ, [_expr_node(item, text_slot) for item in expr.items], flow_style=True)
    if isinstance(expr, ast.Call):
        if expr.kwargs:
            body = MappingNode(MAP, _argument_pairs(expr, ("args",)), flow_style=True)
        else:
            body = _positional_node(expr) if expr.args else MappingNode(MAP, [], flow_style=True)
        return MappingNode(MAP, [(_word(expr.op), body)], flow_style=True)
    raise TypeError(f"not an expression: {expr!r}")


def _number_node(value: int | float) -> ScalarNode:
    if isinstance(value, int):
        return ScalarNode(INT, str(value))
    if math.isnan(value) or math.isinf(value):
        text = ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    else:
        text = repr(value).lower()
        if "." not in text:
            text = text.replace("e", ".0e", 1)  # 1e-06 -> 1.0e-06, a float to YAML 1.1 readers too
    return ScalarNode(FLOAT, text)


def _word(text: str) -> ScalarNode:
    return ScalarNode(STR, text)


def _text(value: str) -> ScalarNode:
    unusual = any(not c.isprintable() or (c.isspace() and c != " ") for c in value)
    return ScalarNode(STR, value, style='"' if unusual else None)


def _fit(node: Node, indent: int, used: int) -> Node:
    """Flow style where the node fits on its line, block style (recursively) where it does not."""
    if isinstance(node, ScalarNode) or used + len(_serialize(node).rstrip("\n")) <= WIDTH:
        return node
    node.flow_style = False
    if isinstance(node, MappingNode):
        for key, value in node.value:
            _fit(value, indent + 2, indent + 2 + len(key.value) + 6)
    else:
        for item in node.value:
            _fit(item, indent + 2, indent + 4)
    return node


def _serialize(node: Node) -> str:
    return yaml.serialize(node, Dumper=SpecDumper, width=1 << 30, allow_unicode=True)
