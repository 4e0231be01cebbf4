"""The YAML form of a spec: the same AST as .rec, one mapping entry per statement.

    model: din_ctr
    doc: CTR ranking with user-interest attention
    spec:
      user_id: {feature: id, buckets: 100000, dim: 16}
      genres: {feature: multi, args: [{category: {vocab_file: genres.txt, dim: 8}}], max_len: 6}
      user: {group: [user_id, gender, age]}
      deep: {block: mlp, args: [fields], units: [256, 128], gate: {poso: {by: [user_id, age]}}}

A statement is `name: {<kind>: <op>, args: [positional...], <kwarg>: <value>...}`, a group is
`name: {group: [members]}`, and a nested call is a one-key mapping: `{op: {args: [...], kwarg:
value}}`, `{op: [positional...]}`, or `{op: {}}`. A plain YAML string is quoted text (ast.Str)
where the op registry declares a str/str_list argument and a bare name (ast.Name) everywhere
else; `!str "text"` and `!ref name` say otherwise, and a `!kw name:` key is a keyword argument
whose name would read as `args` or a statement kind. Only true/false are booleans (YAML 1.2
style), so `vocab: [NO, SE]` stays text. Every node keeps a span into the YAML text.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from recdsl.lang import ast
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.limits import deep_recursion, too_deep
from recdsl.lang.span import Span
from recdsl.lang.suggest import did_you_mean

REF, TEXT, KW = "!ref", "!str", "!kw"
STR, INT, FLOAT, BOOL, NULL, SEQ, MAP = (
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))
TOP_KEYS = ("model", "doc", "spec")
WIDTH = 100
_TEXT_KINDS = ("str", "str_list")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = ("true", "false")  # keywords of the .rec grammar, never names
_RESOLVERS = (
    (BOOL, r"(?:true|True|TRUE|false|False|FALSE)\Z"),
    (NULL, r"(?:~|null|Null|NULL|)\Z"),
    (INT, r"[-+]?(?:0|[1-9][0-9_]*)\Z"),
    (FLOAT, r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?\Z"
            r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+\Z|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z"),
)
_KINDS_TEXT = ", ".join(ast.STATEMENT_KINDS)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style scalars, the spec tags, and no aliases."""

    yaml_implicit_resolvers: dict = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not supported in a spec",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


class _Dumper(yaml.SafeDumper):
    """Quotes any string that YAML 1.1 or the spec loader would read as a non-string."""

    yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()}

    def choose_scalar_style(self):
        if self.event.tag in (REF, KW) and not self.event.style and _NAME.match(self.event.value):
            return ""  # `!ref name`, not `!ref 'name'`
        return super().choose_scalar_style()


for _tag, _pattern in _RESOLVERS:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), None)
    _Dumper.add_implicit_resolver(_tag, re.compile(_pattern), None)
_Loader.add_constructor(REF, lambda loader, node: ast.Name(loader.construct_scalar(node)))
_Loader.add_constructor(TEXT, lambda loader, node: ast.Str(loader.construct_scalar(node)))


@lru_cache(maxsize=1)
def _registry() -> dict:
    from recdsl.ops.registry import load

    return load()


def _text_slot(op: str, position: int | None = None, name: str | None = None) -> bool:
    """Whether an argument of `op` reads an untagged string as ast.Str (else ast.Name)."""
    spec = _registry().get(op)
    if spec is None:
        return False
    if name is None:
        if any(i.variadic for i in spec.inputs) or position >= len(spec.slots):
            return False
        name = spec.slots[position]
    param = spec.param(name)
    return param is not None and param.kind in _TEXT_KINDS


def _declares(op: str, name: str) -> bool:
    spec = _registry().get(op)
    return spec is not None and name in spec.slots


# --- dumping ----------------------------------------------------------------------------

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
    reserved = ("args", *(kind for kind in ast.STATEMENT_KINDS if not _declares(call.op, kind)))
    pairs = [(_word(st.kind), _word(call.op)), *_argument_pairs(call, reserved)]
    return MappingNode(MAP, pairs, flow_style=True)


def _argument_pairs(call: ast.Call, reserved: tuple[str, ...]) -> list:
    pairs = []
    if call.args:
        pairs.append((_word("args"), _positional_node(call)))
    for kw in call.kwargs:
        key = ScalarNode(KW, kw.name) if kw.name in reserved else _word(kw.name)
        pairs.append((key, _expr_node(kw.value, _text_slot(call.op, name=kw.name))))
    return pairs


def _positional_node(call: ast.Call) -> SequenceNode:
    items = [_expr_node(arg, _text_slot(call.op, position=i)) for i, arg in enumerate(call.args)]
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
    return yaml.serialize(node, Dumper=_Dumper, width=1 << 30, allow_unicode=True)


# --- loading ----------------------------------------------------------------------------

class _Invalid(Exception):
    def __init__(self, error: SpecError):
        super().__init__(error.message)
        self.error = error


def load_yaml(text: str, file: str = "<spec>") -> ast.Spec:
    """Read the YAML form. Raises SpecErrors (with spans into `text`) for any problem."""
    reader = _Reader(file)
    try:
        with deep_recursion():
            loader = _Loader(text)
            try:
                root = loader.get_single_node()
            finally:
                loader.dispose()
            spec = reader.spec(root)
    except yaml.YAMLError as exc:
        reader.errors.append(_yaml_error(exc, file, text))
    except _Invalid as exc:
        reader.errors.append(exc.error)
    except RecursionError:
        reader.errors = [too_deep(Span.point(file, 1, 1), "to read")]
    if reader.errors:
        raise SpecErrors(reader.errors, {file: text})
    return spec


def load_yaml_file(path: str | Path) -> ast.Spec:
    from recdsl.lang.loader import read_spec_text

    path = Path(path)
    return load_yaml(read_spec_text(path), str(path))


def _yaml_error(exc: yaml.YAMLError, file: str, text: str) -> SpecError:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return SpecError(Span.point(file, line, column), f"character {chr(exc.character)!r} is not allowed in YAML",
                         'remove it, or write it as an escape in a "double-quoted" string')
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = getattr(exc, "problem", None) or str(exc)
    hint = "indent with spaces; YAML does not allow tabs" if "\\t" in problem else (getattr(exc, "context", "") or "")
    return SpecError(Span.point(file, line, column), f"invalid YAML: {problem}", hint)


class _Reader:
    """YAML node tree -> AST, collecting one error per broken statement."""

    def __init__(self, file: str):
        self.file = file
        self.errors: list[SpecError] = []

    def span(self, start: Node, end: Node | None = None) -> Span:
        s, e = start.start_mark, (end or start).end_mark
        return Span(self.file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)

    def fail(self, node: Node, message: str, hint: str = ""):
        raise _Invalid(SpecError(self.span(node), message, hint))

    def spec(self, root: Node | None) -> ast.Spec:
        if root is None:
            raise _Invalid(SpecError(Span.point(self.file, 1, 1), "the YAML spec is empty",
                                     "start it with: model: my_model"))
        if not isinstance(root, MappingNode):
            self.fail(root, "a YAML spec is a mapping with `model:`, `doc:` and `spec:`", "start it with: model: my_model")
        fields: dict[str, tuple[Node, Node]] = {}
        for key, value in root.value:
            name = self.word(key, "key")
            if name not in TOP_KEYS:
                guess = did_you_mean(name, TOP_KEYS)
                self.fail(key, f"unknown key `{name}`", (guess + " " if guess else "") + "a spec has model:, doc: and spec:")
            if name in fields:
                self.fail(key, f"`{name}` is given twice (first on line {fields[name][0].start_mark.line + 1})")
            fields[name] = (key, value)
        if "model" not in fields:
            self.fail(root, "the spec has no `model:` name", "add a first line: model: my_model")
        model_key, model = fields["model"]
        name = self.word(model, "model name")
        doc = self.doc(fields["doc"][1]) if "doc" in fields else ""
        statements = self.statements(fields["spec"][1]) if "spec" in fields else ()
        return ast.Spec(name, doc, statements, self.file, self.span(model_key, model))

    def doc(self, node: Node) -> str:
        if isinstance(node, ScalarNode) and node.tag == NULL:
            return ""
        if not isinstance(node, ScalarNode) or node.tag != STR:
            self.fail(node, "`doc` must be text", 'quote it: doc: "..."')
        return node.value

    def statements(self, node: Node) -> tuple[ast.Statement, ...]:
        if isinstance(node, ScalarNode) and node.tag == NULL:
            return ()
        if not isinstance(node, MappingNode):
            self.fail(node, "`spec` must be a mapping of statements", "e.g. spec: {user_id: {feature: id, buckets: 1000}}")
        statements, seen = [], {}
        for key, value in node.value:
            try:
                name = self.word(key, "statement name")
                if name in seen:
                    self.fail(key, f"`{name}` is defined twice (first on line {seen[name]})",
                              "give each statement its own name")
                seen[name] = key.start_mark.line + 1
                statements.append(self.statement(name, key, value))
            except _Invalid as exc:
                self.errors.append(exc.error)
        return tuple(statements)

    def statement(self, name: str, key: Node, node: Node) -> ast.Statement:
        if not isinstance(node, MappingNode) or not node.value:
            self.fail(node, f"statement `{name}` must be a mapping that starts with its kind",
                      f"e.g. {name}: {{block: mlp, args: [x], units: [64]}}; kinds are {_KINDS_TEXT}")
        kinds = [(k, v) for k, v in node.value
                 if isinstance(k, ScalarNode) and k.tag == STR and k.value in ast.STATEMENT_KINDS]
        if not kinds:
            self.no_kind(name, node)
        kind_key, op_node = next(((k, v) for k, v in kinds if isinstance(v, ScalarNode)), kinds[0])
        op = self.word(op_node, "op name") if kind_key.value != "group" else ""
        for other, _ in kinds:
            if other is not kind_key and not _declares(op, other.value):
                self.fail(other, f"statement `{name}` has two kinds, `{kind_key.value}` and `{other.value}`",
                          f"a statement has one kind; write an argument named {other.value} as `!kw {other.value}:`")
        rest = [(k, v) for k, v in node.value if k is not kind_key]
        if kind_key.value == "group":
            value = self.group(name, op_node, rest)
        else:
            args, kwargs = self.arguments(op, rest)
            value = ast.Call(op, args, kwargs, self.span(node), self.span(op_node))
        return ast.Statement(kind_key.value, name, value, self.span(key, node), self.span(key))

    def no_kind(self, name: str, node: MappingNode):
        first = node.value[0][0]
        guess = did_you_mean(first.value, ast.STATEMENT_KINDS) if isinstance(first, ScalarNode) else ""
        if guess:
            self.fail(first, f"unknown statement kind `{first.value}`", f"{guess} kinds are {_KINDS_TEXT}")
        self.fail(node, f"statement `{name}` has no kind",
                  f"start it with its kind, e.g. {{block: mlp, ...}}; kinds are {_KINDS_TEXT}")

    def group(self, name: str, members: Node, rest: list) -> ast.ListExpr:
        if rest:
            self.fail(rest[0][0], f"group `{name}` takes only its member list", f"write {name}: {{group: [a, b]}}")
        if not isinstance(members, SequenceNode):
            self.fail(members, f"group `{name}` must list its members", f"write {name}: {{group: [a, b]}}")
        return self.expr(members, False)

    def arguments(self, op: str, pairs: list) -> tuple[tuple[ast.Expr, ...], tuple[ast.KwArg, ...]]:
        args, kwargs, args_key = (), [], None
        for key, value in pairs:
            if isinstance(key, ScalarNode) and key.tag == STR and key.value == "args":
                if args_key is not None:
                    self.fail(key, "`args` is given twice", "list every positional argument in one args: [...]")
                args_key = key
                if not isinstance(value, SequenceNode) or value.tag != SEQ:
                    self.fail(value, f"`args` of {op} must be a list of positional arguments", "e.g. args: [fields]")
                args = self.positional(op, value)
            else:
                name = self.word(key, "argument name", KW)
                kwargs.append(ast.KwArg(name, self.expr(value, _text_slot(op, name=name)), self.span(key)))
        return args, tuple(kwargs)

    def positional(self, op: str, node: SequenceNode) -> tuple[ast.Expr, ...]:
        return tuple(self.expr(item, _text_slot(op, position=i)) for i, item in enumerate(node.value))

    def expr(self, node: Node, text_slot: bool) -> ast.Expr:
        span = self.span(node)
        if isinstance(node, SequenceNode):
            self.untagged(node, SEQ)
            return ast.ListExpr(tuple(self.expr(item, text_slot) for item in node.value), span)
        if isinstance(node, MappingNode):
            self.untagged(node, MAP)
            return self.call(node)
        tag = node.tag
        if tag == REF or (tag == STR and not text_slot):
            return ast.Name(self.word(node, "name"), span)
        if tag in (TEXT, STR):
            return ast.Str(node.value, span)
        if tag == BOOL and node.value.lower() in ("true", "false"):
            return ast.Bool(node.value.lower() == "true", span)
        if tag in (INT, FLOAT):
            return ast.Num(self.number(node), span)
        if tag == NULL:
            self.fail(node, "a value is missing here", "write a value, or leave the argument out")
        self.fail(node, f"unsupported YAML tag `{tag}` on `{node.value}`", 'specs use !ref name and !str "text"')

    def untagged(self, node: Node, default: str) -> None:
        if node.tag != default:
            self.fail(node, f"unsupported YAML tag `{node.tag}` on a {'list' if default == SEQ else 'mapping'}",
                      "!ref and !str tag single values")

    def call(self, node: MappingNode) -> ast.Call:
        if len(node.value) != 1:
            self.fail(node, f"a nested call is a mapping with one key, the op; this one has {len(node.value)}",
                      "e.g. gate: {poso: {by: [user_id, age]}}, or {concat: [a, b]}")
        key, body = node.value[0]
        op = self.word(key, "op name")
        if isinstance(body, SequenceNode) and body.tag == SEQ:
            args, kwargs = self.positional(op, body), ()
        elif isinstance(body, MappingNode) and body.tag == MAP:
            args, kwargs = self.arguments(op, body.value)
        else:
            self.fail(body, f"the arguments of `{op}` must be a mapping or a list",
                      f"e.g. {{{op}: {{key: value}}}}, {{{op}: [a, b]}}, or {{{op}: {{}}}} for none")
        return ast.Call(op, args, kwargs, self.span(node), self.span(key))

    def number(self, node: ScalarNode) -> int | float:
        text = node.value.replace("_", "")
        try:
            if node.tag == INT:
                return int(text)
            special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
            return special.get(text.lower()) or float(text)
        except ValueError:
            self.fail(node, f"`{node.value}` is not a {'whole ' if node.tag == INT else ''}number")

    def word(self, node: Node, what: str, *extra_tags: str) -> str:
        """A name: an identifier that is not true/false, as a key or a value."""
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a name, not a {'list' if isinstance(node, SequenceNode) else 'mapping'}")
        if node.tag not in (STR, REF, NULL, BOOL, *extra_tags):
            self.fail(node, f"{what} must be a name, not `{node.value}`",
                      "names use letters, digits and _ and start with a letter or _")
        if not node.value:
            self.fail(node, f"{what} is missing", "names use letters, digits and _")
        if not _NAME.match(node.value) or node.value in _RESERVED:
            self.fail(node, f"`{node.value}` is not a valid {what}",
                      'names use letters, digits and _, start with a letter or _, and are not true/false'
                      + ('; write text as !str "..."' if what == "name" else ""))
        return node.value
