"""AST -> CheckedSpec: resolve names, bind arguments to the op registry, infer types and shapes,
count parameters. Every problem found is collected; one SpecErrors carries them all."""
from __future__ import annotations

from pathlib import Path

from recdsl.checker.arguments import resolve_args, value_of
from recdsl.checker.binding import bind_call
from recdsl.checker.forms import COERCE, attention_members, feature_members
from recdsl.checker.memory import NodeSite, weight_problems
from recdsl.checker.problems import ArgProblem, Poisoned
from recdsl.checker.sharing import shared
from recdsl.checker.spec import Binding, CheckedSpec, Node
from recdsl.checker.unembedded import without_unused_tables
from recdsl.lang import ast
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.limits import deep_recursion, too_deep
from recdsl.lang.span import Span
from recdsl.lang.suggest import Suggestions, did_you_mean
from recdsl.ops import load
from recdsl.ops.context import OpContext, TypeProblem
from recdsl.ops.types import FieldListType

FAMILY_OF_KIND = {"feature": "feature", "pool": "pool", "gate": "gate", "block": "block", "output": "output"}
NESTED_FAMILIES = ("pool", "gate", "block")


class Checker:
    """Checks one spec. It is the Resolver (recdsl.checker.arguments) its argument validation
    calls back through: `resolve`, `input` and `error`."""

    def __init__(self, spec: ast.Spec, sources: dict[str, str] | None = None):
        self.spec = spec
        self.registry = load()
        self.sources = sources or {}
        self.spec_dir = Path(spec.file).parent
        self.errors: list[SpecError] = []
        self.warnings: list[SpecError] = []
        self.statements: dict[str, ast.Statement] = {}
        self.nodes: dict[str, Node] = {}
        self.order: list[str] = []
        self.visiting: dict[str, None] = {}  # the statements being checked, outermost first (a set in order)
        self.failed: set[str] = set()
        self.used: set[str] = set()
        self.suggestions = Suggestions()
        self.nested_count: dict[str, int] = {}  # owner.op -> nested calls named after it so far

    def error(self, span: Span, message: str, hint: str = "") -> None:
        self.errors.append(SpecError(span, message, hint))

    def run(self) -> CheckedSpec:
        with deep_recursion():
            return self._run()

    def _run(self) -> CheckedSpec:
        self._declare()
        for name in self.statements:
            try:
                self.resolve(name, None)
            except Poisoned:
                continue
            except RecursionError:
                self.errors.append(too_deep(self.statements[name].name_span, f"to check `{name}`"))
                raise SpecErrors(self.errors, self.sources) from None
        self.nodes = without_unused_tables(self.nodes, self.registry)
        self._whole_model_checks()
        self._weight_checks()
        if self.errors:
            raise SpecErrors(self.errors + self.warnings, self.sources)
        return CheckedSpec(self.spec.name, self.spec.doc, self.spec.file,
                           tuple(self.nodes[n] for n in self.order), tuple(self.warnings), self.sources)

    def _declare(self) -> None:
        for st in self.spec.statements:
            if st.name in self.statements:
                first = self.statements[st.name]
                self.error(st.name_span, f"`{st.name}` is already defined (line {first.name_span.line})",
                           "rename one of them")
                self._mark_referenced(st)
                continue
            self.statements[st.name] = st

    def _whole_model_checks(self) -> None:
        if not any(st.kind == "output" for st in self.statements.values()):
            self.error(self.spec.span, f"model `{self.spec.name}` has no output",
                       "add one, e.g. `output ctr = sigmoid(deep)`")
        for name, st in self.statements.items():
            if name not in self.used and st.kind != "output" and name not in self.failed:
                what = "feature" if st.kind == "feature" else st.kind
                self.warnings.append(SpecError(st.name_span, f"{what} `{name}` is never used",
                                               "remove it or feed it to a block", severity="warning"))

    def _weight_checks(self) -> None:
        """Tables and weights that cannot be built (recdsl.checker.memory), before anything is allocated."""
        sites = [NodeSite(node, self.statements[name].name_span if name in self.statements else node.span)
                 for name, node in self.nodes.items()]
        errors, warnings = weight_problems(sites, self.spec.span, whole_model=not self.errors)
        self.errors.extend(errors)
        self.warnings.extend(warnings)

    # --- resolution ---------------------------------------------------------------------

    def resolve(self, name: str, ref: ast.Name | None) -> Node:
        """The checked node `name`, checking its statement first if need be; `ref` (the mention) marks it used."""
        if ref is not None:
            self.used.add(name)
        if name in self.nodes:
            return self.nodes[name]
        if name in self.failed:
            raise Poisoned(name)
        if name not in self.statements:
            hint = self.suggestions.did_you_mean(name, self.statements) or \
                "declare it with feature/group/pool/gate/block"
            self.error(ref.span, f"undefined name `{name}`", hint)
            raise Poisoned(name)
        if name in self.visiting:
            chain = list(self.visiting)
            cycle = chain[chain.index(name):] + [name]
            self.error(ref.span, "cycle: " + " -> ".join(cycle), "a node cannot depend on itself")
            self.failed.update(cycle)
            raise Poisoned(name)
        self.visiting[name] = None
        try:
            node = self._statement(self.statements[name])
        except Poisoned:
            self.failed.add(name)
            self._mark_referenced(self.statements[name])
            raise
        finally:
            del self.visiting[name]
        self._add(node)
        return node

    def _mark_referenced(self, st: ast.Statement) -> None:
        """A statement that failed to check still uses the names it mentions: no "never used" warning for them."""
        self.used.update(e.id for e in ast.walk(st.value) if isinstance(e, ast.Name) and e.id != st.name)

    def _add(self, node: Node) -> None:
        self.nodes[node.name] = node
        self.order.append(node.name)

    def _statement(self, st: ast.Statement) -> Node:
        if st.kind == "group":
            return self._group(st)
        if not isinstance(st.value, ast.Call):
            self.error(st.value.span, f"a {st.kind} is defined by an op call", f"write `{st.kind} {st.name} = op(...)`")
            raise Poisoned(st.name)
        return self._call(st.value, st.name, st.kind, st.span, anonymous=False)

    def _group(self, st: ast.Statement) -> Node:
        members = [self._member(item, st.name) for item in st.value.items]
        names = tuple(name for name, _ in members)
        if not names:
            self.error(st.value.span, f"group `{st.name}` is empty", "list at least one feature")
            raise Poisoned(st.name)
        return Node(st.name, "group", "group", (), (Binding("members", names, True),),
                    FieldListType(tuple(members)), 0, st.span)

    def _member(self, expr: ast.Expr, owner: str) -> tuple[str, object]:
        """One name (or nested call) feeding an input slot: (node name, its type)."""
        if isinstance(expr, ast.Name):
            node = self.resolve(expr.id, expr)
            return node.name, node.type
        if isinstance(expr, ast.Call):
            node = self._nested(expr, owner)
            return node.name, node.type
        self.error(expr.span, "expected a feature or node name here",
                   "inputs are names of features, groups, pools, gates or blocks")
        raise Poisoned(owner)

    def _nested(self, call: ast.Call, owner: str) -> Node:
        spec = self.registry.get(call.op)
        if spec is not None and spec.family not in NESTED_FAMILIES:
            self.error(call.op_span, f"`{call.op}` cannot be nested here",
                       "only pool, gate and block ops can be used inline as inputs")
            raise Poisoned(owner)
        base = f"{owner}.{call.op}"
        k = self.nested_count.get(base, 1)  # resume where the last call named after `base` stopped
        name = base if k == 1 else f"{base}_{k}"
        while name in self.nodes or name in self.statements:
            k += 1
            name = f"{base}_{k}"
        self.nested_count[base] = k + 1
        kind = spec.family if spec else "block"
        node = self._call(call, name, kind, call.span, anonymous=True)
        self._add(node)
        self.used.add(name)
        return node

    def _call(self, call: ast.Call, name: str, kind: str, span: Span, anonymous: bool) -> Node:
        spec = self._op(call, kind, name)
        try:
            bound = bind_call(spec, call)
        except ArgProblem as problems:
            for p in problems.items:
                self.error(p.span, p.message, p.hint)
            raise Poisoned(name) from None
        ctx = OpContext(spec, {}, {}, spec_dir=self.spec_dir)
        bindings = []
        poisoned = False
        for slot, exprs in bound.inputs:
            try:
                coerced, binding = self.input(spec, slot, exprs, name, ctx)
            except Poisoned:
                poisoned = True
                continue
            bindings.extend(binding)
            ctx.inputs[slot.name] = coerced
        try:
            ctx.args.update(resolve_args(self, spec, bound, name, ctx, bindings))
        except Poisoned:
            poisoned = True
        if poisoned:
            raise Poisoned(name)
        shares, share_kind = self._sharing(ctx)
        out = self._apply(spec, bound, ctx, lambda: spec.infer(ctx), call, name)
        params = self._apply(spec, bound, ctx, lambda: spec.count(ctx, out), call, name)
        args = tuple((k, value_of(v)) for k, v in ctx.args.items())
        input_types = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in ctx.inputs.items())
        node = Node(name, kind, spec.name, args, tuple(bindings), out, params, span, shares, share_kind,
                    anonymous, input_types)
        if share_kind == "weights":
            via = next(iter(ctx.refs))
            try:
                node = shared(self.registry, node, self.nodes[node.shares], via)
            except TypeProblem as problem:
                self.error(bound.span_of(via), problem.message, problem.hint)
                raise Poisoned(name) from None
        return node

    def _op(self, call: ast.Call, kind: str, name: str):
        spec = self.registry.get(call.op)
        family = FAMILY_OF_KIND[kind]
        if spec is None:
            options = [n for n, s in self.registry.items() if s.family == family]
            hint = did_you_mean(call.op, options) or f"{kind} ops: " + ", ".join(sorted(options))
            self.error(call.op_span, f"unknown {kind} op `{call.op}`", hint)
            raise Poisoned(name)
        if spec.family != family and kind in FAMILY_OF_KIND:
            self.error(call.op_span, f"`{call.op}` is a {spec.family} op, not a {kind} op",
                       f"declare it with `{spec.family} {name} = {call.op}(...)`")
            raise Poisoned(name)
        return spec

    def input(self, spec, slot, exprs, owner, ctx):
        """Resolve and coerce one input slot: (the type the op sees, its Bindings); records it in `ctx`."""
        coerce = COERCE[slot.accepts]
        types, bindings, all_members = [], [], []
        for expr in exprs:
            items = expr.items if isinstance(expr, ast.ListExpr) else (expr,)
            members = [self._member(item, owner) for item in items]
            if not members:
                self.error(expr.span, f"`{slot.name}` is an empty list", "list at least one input")
                raise Poisoned(owner)
            # a "features" slot reads model inputs: each feature as the checker describes it
            seen = feature_members(members, self.nodes, self.registry) if slot.accepts == "features" else members
            if slot.accepts == "attention_node":  # an attention slot reads which op made its member
                seen = attention_members(members, self.nodes, self.registry)
            try:
                types.append(coerce(seen, spec.name))
            except TypeProblem as problem:
                self.error(expr.span, problem.message, problem.hint)
                raise Poisoned(owner) from None
            bindings.append(Binding(slot.name, tuple(n for n, _ in members), isinstance(expr, ast.ListExpr)))
            all_members.extend(members)
        ctx.members[slot.name] = all_members
        ctx.spans[slot.name] = exprs[0].span
        return (types if slot.variadic else types[0]), bindings

    @staticmethod
    def _sharing(ctx: OpContext):
        """(the node whose table or weights this one reuses, "table" | "weights"), or (None, None)."""
        if ctx.table is not None and ctx.table.shares is not None:
            return ctx.table.shares, "table"
        if ctx.refs:
            return next(iter(ctx.refs.values())), "weights"
        return None, None

    def _apply(self, spec, bound, ctx, rule, call: ast.Call, name: str):
        try:
            return rule()
        except TypeProblem as problem:
            span = bound.span_of(problem.at) if problem.at else call.span
            self.error(span or call.span, problem.message, problem.hint)
            raise Poisoned(name) from None


def check(spec: ast.Spec, sources: dict[str, str] | None = None) -> CheckedSpec:
    """Type-check a parsed spec. Raises SpecErrors listing every problem."""
    return Checker(spec, sources).run()
