"""One fuzz case through the front end, classified.

    ok              it checks; its canonical form parses back to an equal spec; graph and DOT are made
    spec_error      SpecErrors only, each with a span inside the file, rendered
    internal_error  any other exception (or an error whose span points outside the file)
    round_trip      it parses, but `parse(format_spec(spec)) != spec`
A case is also `slow` when load + check (+ rendering its errors) took longer than SLOW_SECONDS.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from recdsl.checker.checker import check
from recdsl.lang.errors import SpecErrors
from recdsl.lang.formatter import format_spec
from recdsl.lang.limits import deep_recursion
from recdsl.lang.loader import load_spec, read_spec_text
from recdsl.lang.parser import parse
from tests.fuzz.generator import VOCAB_FILES, Case

OUTCOMES = ("ok", "spec_error", "internal_error", "round_trip")
SLOW_SECONDS = 2.0


def clock() -> float:
    """CPU seconds of this process: a check is single-threaded Python, and where wall time on a busy
    machine (parallel test workers) stretches several times over (a 0.6 s case measured 4 s), the
    CPU time it takes hardly moves."""
    return time.process_time()


@dataclass(frozen=True)
class Outcome:
    case: Case
    kind: str  # one of OUTCOMES
    seconds: float  # load + check
    detail: str = ""

    @property
    def slow(self) -> bool:
        return self.seconds > SLOW_SECONDS


def prepare(folder: Path) -> Path:
    """A folder to write cases into, with the vocabulary files the bundled specs name."""
    folder.mkdir(parents=True, exist_ok=True)
    for vocab in VOCAB_FILES:
        shutil.copy(vocab, folder / vocab.name)
    return folder


def run_case(case: Case, folder: Path) -> Outcome:
    path = folder / case.source.name
    path.write_bytes(case.data)
    start = clock()
    spec = None
    try:
        spec = load_spec(path)
        checked = check(spec, {str(path): read_spec_text(path)})
    except SpecErrors as problems:
        bad = _bad_errors(problems, path)  # renders them, as `recdsl check` does: part of the time
        seconds = clock() - start
        if bad:
            return Outcome(case, "internal_error", seconds, bad)
        mismatch = _round_trip(spec, path) if spec is not None else ""
        return Outcome(case, "round_trip" if mismatch else "spec_error", seconds, mismatch)
    except Exception:  # noqa: BLE001 - anything but SpecErrors is what the fuzzer looks for
        return Outcome(case, "internal_error", clock() - start, _last_lines(traceback.format_exc()))
    seconds = clock() - start
    try:
        _downstream(checked)
    except Exception:  # noqa: BLE001
        return Outcome(case, "internal_error", seconds, "after check: " + _last_lines(traceback.format_exc()))
    mismatch = _round_trip(spec, path)
    return Outcome(case, "round_trip" if mismatch else "ok", seconds, mismatch)


def run_cli(case: Case, folder: Path) -> tuple[int, str, str]:
    """`recdsl check` on the case: (exit code, stdout, stderr)."""
    from recdsl.cli.main import main

    path = folder / case.source.name
    path.write_bytes(case.data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(path)])
    return code, out.getvalue(), err.getvalue()


def _bad_errors(problems: SpecErrors, path: Path) -> str:
    """What is wrong with the errors themselves ("" when nothing)."""
    if not any(e.severity == "error" for e in problems.errors):
        return "SpecErrors without an error"
    try:
        lines = read_spec_text(path).count("\n") + 2
    except SpecErrors:
        lines = path.read_bytes().count(b"\n") + 2
    for e in problems.errors:
        if not e.message or e.severity not in ("error", "warning"):
            return f"malformed error {e!r}"
        if not (1 <= e.span.line <= lines and e.span.column >= 1):
            return f"span outside the file: {e.span} {e.message}"
    try:
        problems.render()
    except Exception:  # noqa: BLE001
        return "render: " + _last_lines(traceback.format_exc())
    return ""


def _round_trip(spec, path: Path) -> str:
    """"" when the canonical form parses back to `spec`, else what differs."""
    try:
        text = format_spec(spec)
    except SpecErrors:
        return ""  # nested too deeply to format: reported as an error, nothing to compare
    try:
        again = parse(text, str(path))
    except SpecErrors as problems:
        return "the canonical form does not parse: " + problems.errors[0].message
    with deep_recursion():  # dataclass equality recurses once per level of nesting
        try:
            same = again == spec
        except RecursionError:
            return ""  # deeper than equality can compare; the formatter refuses deeper still
    return "" if same else "the canonical form parses to a different spec: " + _first_difference(spec, again)


def _first_difference(spec, again) -> str:
    if (spec.name, spec.doc) != (again.name, again.doc):
        return f"header {spec.name!r} {spec.doc[:80]!r} became {again.name!r} {again.doc[:80]!r}"
    for before, after in zip(spec.statements, again.statements):
        if before != after:
            return f"{str(before)[:300]} became {str(after)[:300]}"
    return f"{len(spec.statements)} statements became {len(again.statements)}"


def _downstream(checked) -> None:
    """What `graph` and `render` compute without graphviz: the graph, its JSON and the DOT source."""
    from recdsl.diagram import to_dot
    from recdsl.graph import build_graph, to_json_text

    graph = build_graph(checked)
    to_json_text(graph)
    to_dot(graph).source


def _last_lines(text: str, count: int = 6) -> str:
    return "\n".join(line[:300] for line in text.rstrip().splitlines()[-count:])
