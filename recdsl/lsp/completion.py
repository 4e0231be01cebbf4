"""Completion from the text before the cursor: it is usually mid-statement and does not parse.

The statement around the cursor is read back to its start (recdsl.lsp.partial.statement_starts)
and tokenised; a stack of open calls and lists says where the cursor is:

    at a line start, between statements   statement keywords
    `pool x = |`                          the op names of that family, with their signatures
    `din(|` or `din(query=a, |`           din's argument names not given yet, and values for the
                                          next positional slot
    `din(activation=|`                    the values that argument takes (enum choices, true/false,
                                          names of the kind its input accepts, `of=` tables...)
    `din(keys=[a, |`                      the same, inside a list
    `group g = [|`                        every name

Names are offered by kind as far as the registry and the checked types tell it: a `sequence`
input gets sequences and bags, `fields` gets embedding fields, `of=` gets id/category features,
`share=` gets nodes of the same op (or of any op with weights by role, from one such); a name whose type is unknown (its statement has an error) is
always offered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from recdsl.lang.ast import STATEMENT_KINDS
from recdsl.lsp.analysis import Analysis
from recdsl.lsp.hover import KEYWORD_DOCS, default_text, signature
from recdsl.lsp.partial import code_only, statement_starts
from recdsl.lsp.positions import LineIndex
from recdsl.ops import load
from recdsl.ops.params import REQUIRED
from recdsl.ops.types import BagType, DenseType, FieldListType, FieldType, SeqType, StackType, VectorType, shape_text

_TOKEN = re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_]*|-?\d[\w.]*|\S")
_PARTIAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
INLINE_FAMILIES = ("pool", "gate", "block")
_SEQUENCES = (BagType, SeqType)
_STRING_OR_COMMENT = re.compile(r'"(?:\\.|[^"\\\n])*("?)|#[^\n]*')


def accepts(form: str, value_type) -> bool:
    """Whether an input slot of this form (recdsl.ops.registry.ACCEPTS) takes a value of this type."""
    if value_type is None:
        return True
    if form == "sequence":
        return isinstance(value_type, _SEQUENCES)
    if form == "vector":
        return not isinstance(value_type, _SEQUENCES)
    if form == "query":
        return not isinstance(value_type, (*_SEQUENCES, StackType))
    if form == "fields":
        if isinstance(value_type, FieldListType):
            return all(isinstance(t, FieldType) for _, t in value_type.leaves)
        return isinstance(value_type, (FieldType, StackType))
    if form == "fields_or_sequence":
        return not isinstance(value_type, (DenseType, VectorType))
    return True


@dataclass(frozen=True)
class Suggestion:
    label: str
    kind: str  # keyword | op | argument | enum | value | name
    detail: str = ""
    documentation: str = ""
    insert_text: str | None = None


@dataclass
class _Open:
    """An open call or list: the op, the arguments named so far, the slot being filled."""

    bracket: str
    op: str | None = None
    given: set[str] = field(default_factory=set)
    keyword: str | None = None
    positional: int = 0


def complete(analysis: Analysis, line: int, column: int) -> list[Suggestion]:
    """What may be typed at the 1-based cursor (line, column in code points)."""
    text = analysis.text
    offset = LineIndex(text, "utf-32").offset(line, column)
    line_before = text[text.rfind("\n", 0, offset) + 1:offset]
    if _in_string_or_comment(line_before):
        return []
    start = max(s for s in statement_starts(text) if s <= offset)  # 0 is always a start
    tokens = [t for t in _TOKEN.findall(code_only(text[start:offset])) if not t.isspace()]
    if tokens and _PARTIAL.fullmatch(tokens[-1]) and re.search(r"[A-Za-z0-9_]$", text[:offset]):
        tokens = tokens[:-1]  # the word being typed
    if not tokens:
        return _keywords(text)
    stack = _open_brackets(tokens)
    if not stack:
        at_line_start = not line_before.strip() or _PARTIAL.fullmatch(line_before.strip())
        if tokens[-1] in (")", "]") and at_line_start:
            return _keywords(text)
        if len(tokens) == 3 and tokens[0] in STATEMENT_KINDS and tokens[2] in (":", "="):
            return _ops(n for n, op in load().items() if op.family == tokens[0])
        return []
    owner = tokens[1] if len(tokens) > 1 else ""
    top, previous = stack[-1], tokens[-1]
    call = next((f for f in reversed(stack) if f.bracket == "("), None)
    if call is None or call.op not in load():
        return _names(analysis, owner, None) if top.bracket == "[" and previous in ("[", ",") else []
    slot = call.keyword or _positional_slot(call.op, call.positional)
    if top is call and previous in ("(", ","):  # positional values only before any keyword argument
        return _arguments(call) + (_values(analysis, call.op, slot, owner) if slot and not call.given else [])
    if (top is call and previous == "=") or (top.bracket == "[" and previous in ("[", ",")):
        return _values(analysis, call.op, slot, owner) if slot else []
    return []


def _in_string_or_comment(line_before: str) -> bool:
    """Whether the cursor at the end of `line_before` is in a comment or an unclosed string."""
    last = None
    for last in _STRING_OR_COMMENT.finditer(line_before):
        pass
    if last is None or last.end() != len(line_before):
        return False
    return last.group().startswith("#") or not last.group(1)


def _open_brackets(tokens: list[str]) -> list[_Open]:
    stack: list[_Open] = []
    for i, token in enumerate(tokens):
        if token == "(":
            stack.append(_Open("(", tokens[i - 1] if i and _PARTIAL.fullmatch(tokens[i - 1]) else None))
        elif token == "[":
            stack.append(_Open("["))
        elif token in (")", "]") and stack:
            stack.pop()
        elif stack and stack[-1].bracket == "(":
            top = stack[-1]
            if token == ",":
                top.positional += top.keyword is None
                top.keyword = None
            elif token == "=" and i and _PARTIAL.fullmatch(tokens[i - 1]):
                top.keyword = tokens[i - 1]
                top.given.add(top.keyword)
    return stack


def _positional_slot(op: str, position: int) -> str | None:
    spec = load()[op]
    variadic = next((i.name for i in spec.inputs if i.variadic), None)
    if variadic:
        return variadic
    return spec.slots[position] if position < len(spec.slots) else None


def _keywords(text: str) -> list[Suggestion]:
    has_header = re.search(r"^\s*model\b", code_only(text), re.MULTILINE) is not None
    words = STATEMENT_KINDS if has_header else ("model",) + STATEMENT_KINDS
    return [Suggestion(w, "keyword", documentation=KEYWORD_DOCS.get(w, "`model NAME \"what it predicts\"`"))
            for w in words]


def _ops(names) -> list[Suggestion]:
    """The ops `names`, alphabetically, each with its signature and summary."""
    registry = load()
    return [Suggestion(name, "op", signature(name), registry[name].summary +
                       (f"\n\n`{registry[name].example}`" if registry[name].example else ""))
            for name in sorted(names)]


def _inline_ops() -> list[Suggestion]:
    """The ops a call may nest where an input is expected: pools, gates and blocks."""
    return _ops(n for n, op in load().items() if op.family in INLINE_FAMILIES)


def _arguments(call: _Open) -> list[Suggestion]:
    op = load()[call.op]
    filled = set(op.slots[:call.positional]) if not any(i.variadic for i in op.inputs) else set()
    out = []
    for slot in op.inputs:
        if slot.name not in call.given | filled and not slot.variadic:
            out.append(Suggestion(f"{slot.name}=", "argument", f"input: {slot.accepts}", slot.doc))
    for p in op.params:
        if p.name not in call.given | filled:
            default = "required" if p.default is REQUIRED else f"= {default_text(p)}"
            out.append(Suggestion(f"{p.name}=", "argument", f"{p.kind} {default}", p.doc))
    return out


def _values(analysis: Analysis, op_name: str, slot: str, owner: str) -> list[Suggestion]:
    op = load()[op_name]
    entry = next((i for i in op.inputs if i.name == slot), None)
    if entry is not None:
        return _names(analysis, owner, entry.accepts) + _inline_ops()
    param = op.param(slot)
    if param is None:
        return []
    if param.kind == "enum":
        return [Suggestion(c, "enum", "default" if c == param.default else "", param.doc) for c in param.choices]
    if param.kind == "bool":
        return [Suggestion(v, "value", "default" if v == default_text(param) else "") for v in ("true", "false")]
    if param.kind == "table":
        tables = [s for s in _names(analysis, owner, None) if analysis.statements[s.label].kind == "feature"
                  and (s.label not in analysis.nodes or analysis.nodes[s.label].op in param.calls)]
        return tables + _ops(param.calls)
    if param.kind == "ref":  # share=: a node of the same op, or between ops with weights by role, any of them
        registry = load()
        return [s for s in _names(analysis, owner, None) if s.label in analysis.nodes and (
            analysis.nodes[s.label].op == op_name
            or (getattr(op, "weights", None) and getattr(registry.get(analysis.nodes[s.label].op), "weights", None)))]
    if param.kind == "call":
        return _ops(param.calls)
    return []


def _names(analysis: Analysis, owner: str, form: str | None) -> list[Suggestion]:
    """Declared names (not outputs, not `owner` itself) whose type the form accepts (None: any)."""
    out = []
    for name, st in analysis.statements.items():
        node = analysis.nodes.get(name)
        if name == owner or st.kind == "output" or (form and not accepts(form, node.type if node else None)):
            continue
        detail = f"{st.kind} · {node.op} {shape_text(node.type)}" if node else st.kind
        out.append(Suggestion(name, "name", detail))
    return out
