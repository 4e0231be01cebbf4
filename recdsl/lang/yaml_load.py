"""The YAML form of a spec (recdsl.lang.yamlform) -> AST, with a span into the YAML text on
every node and one error per broken statement."""
from __future__ import annotations

import math

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from recdsl.lang import ast
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.limits import deep_recursion, too_deep
from recdsl.lang.numbers import MAX_INT, NumberOutOfRange, checked_float, checked_int, too_large
from recdsl.lang.span import Span
from recdsl.lang.suggest import did_you_mean
from recdsl.lang.yaml_dialect import (
    BOOL,
    FLOAT,
    INT,
    KW,
    MAP,
    NAME,
    NULL,
    REF,
    RESERVED,
    SEQ,
    STR,
    TEXT,
    TOP_KEYS,
    SpecLoader,
    declares,
    text_slot,
)

_KINDS_TEXT = ", ".join(ast.STATEMENT_KINDS)


class _Invalid(Exception):
    def __init__(self, error: SpecError):
        super().__init__(error.message)
        self.error = error


def load_yaml(text: str, file: str = "<spec>") -> ast.Spec:
    """Read the YAML form. Raises SpecErrors (with spans into `text`) for any problem."""
    reader = _Reader(file)
    try:
        with deep_recursion():
            loader = SpecLoader(text)
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
            if other is not kind_key and not declares(op, other.value):
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
                kwargs.append(ast.KwArg(name, self.expr(value, text_slot(op, name=name)), self.span(key)))
        return args, tuple(kwargs)

    def positional(self, op: str, node: SequenceNode) -> tuple[ast.Expr, ...]:
        return tuple(self.expr(item, text_slot(op, position=i)) for i, item in enumerate(node.value))

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
        """The value of an int or float scalar, in the range of recdsl.lang.numbers (so no .inf or .nan)."""
        text = node.value.replace("_", "")
        try:
            if node.tag == INT:
                if len(text.lstrip("+-").lstrip("0")) > len(str(MAX_INT)):
                    raise too_large(node.value)
                return checked_int(int(text), node.value)
            special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
            value = special[text.lower()] if text.lower() in special else float(text)
            return checked_float(value, node.value)
        except NumberOutOfRange as problem:
            self.fail(node, problem.message, problem.hint)
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
        if not NAME.match(node.value) or node.value in RESERVED:
            self.fail(node, f"`{node.value}` is not a valid {what}",
                      'names use letters, digits and _, start with a letter or _, and are not true/false'
                      + ('; write text as !str "..."' if what == "name" else ""))
        return node.value
