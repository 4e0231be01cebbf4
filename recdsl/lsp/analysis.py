"""One document version, analysed once: its problems, its checked nodes and its occurrences.

    analysis = analyse(text, "specs/din.rec")
    analysis.problems       every error and warning the parser and checker give (SpecError)
    analysis.nodes          name -> checked Node, for every statement (and nested call) that checks
    analysis.occurrences    every name, op, argument and enum value with its span and role

Static only: it parses and checks (recdsl.lang, recdsl.checker), never imports Keras or builds a
model. A statement that does not parse is left out (recdsl.lsp.partial) and the rest still checked.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from recdsl.checker.checker import Checker
from recdsl.checker.spec import Node
from recdsl.lang import ast
from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.span import Span
from recdsl.lsp.occurrences import Occurrence, at, occurrences
from recdsl.lsp.partial import BrokenStatement, is_follow_on, parse_partially


@dataclass(frozen=True)
class Analysis:
    text: str
    file: str
    spec: ast.Spec | None
    problems: tuple[SpecError, ...]
    nodes: dict[str, Node]
    occurrences: tuple[Occurrence, ...]
    broken: tuple[BrokenStatement, ...] = ()

    def at(self, line: int, column: int) -> Occurrence | None:
        """The occurrence under a 1-based cursor (line, column in code points)."""
        return at(self.occurrences, line, column)

    @cached_property
    def statements(self) -> dict[str, ast.Statement]:
        """The statements that parsed, by name (the first of a name defined twice)."""
        out: dict[str, ast.Statement] = {}
        for st in self.spec.statements if self.spec else ():
            out.setdefault(st.name, st)
        return out

    def node_of_call(self, call: ast.Call) -> Node | None:
        """The checked node a call makes (a statement's op call, or a nested call used as an input)."""
        return self._nodes_by_span.get(call.span)

    @cached_property
    def _nodes_by_span(self) -> dict[Span, Node]:
        found = {n.span: n for n in self.nodes.values() if n.anonymous}
        for st in self.statements.values():
            if st.name in self.nodes and isinstance(st.value, ast.Call):
                found[st.value.span] = self.nodes[st.name]
        return found

    def definition(self, name: str) -> Occurrence | None:
        return next((o for o in self.occurrences if o.role == "definition" and o.text == name), None)

    def references(self, name: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.role == "reference" and o.text == name]


def analyse(text: str, file: str) -> Analysis:
    """Parse (statement by statement where need be) and check `text`, read as the file `file`
    (relative vocabulary files are found next to it)."""
    partial = parse_partially(text, file)
    problems = list(partial.syntax_errors)
    if partial.spec is None:
        return Analysis(text, file, None, _in_order(problems), {}, (), partial.broken)
    checker = Checker(partial.spec, {file: text})
    try:
        checked = checker.run()
        problems.extend(checked.warnings)
    except SpecErrors as failed:
        problems.extend(p for p in failed.errors if not is_follow_on(p, partial.broken))
    except RecursionError:  # the checker reports too-deep specs itself; this is a last guard
        problems.append(SpecError(partial.spec.span, "the spec nests too deeply to check"))
    return Analysis(text, file, partial.spec, _in_order(problems), dict(checker.nodes),
                    occurrences(partial.spec), partial.broken)


def _in_order(problems: list[SpecError]) -> tuple[SpecError, ...]:
    unique = list(dict.fromkeys(problems))
    return tuple(sorted(unique, key=lambda p: (p.span.line, p.span.column, p.severity != "error")))


def default_file(path: str | None) -> str:
    """The file name an unsaved document is checked as (vocabulary files are looked up beside it)."""
    return path if path else str(Path.cwd() / "untitled.rec")
