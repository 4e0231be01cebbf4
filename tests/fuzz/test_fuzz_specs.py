"""Thousands of mutated specs (tests/fuzz/generator.py, the "small" sizes) through the front end:
no internal exception (only SpecErrors, each inside the file and rendered), a bounded check time,
the canonical form parsing back to the same spec, and `recdsl check` exiting 0 or 1 without a
traceback. Seeded: the same cases every run. bench/fuzz_specs.py runs 100,000 at full size."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.fuzz import harness
from tests.fuzz.generator import EDITS, case, cases

SEED = 2024
COUNT = 2_000
CLI_EVERY = 20  # every 20th case also through the CLI
FULL_SIZE = 40  # cases at full size (past graphviz's and the checker's limits)


def report(outcomes) -> str:
    return "\n\n".join(f"{o.case.label}\n{o.detail}" for o in outcomes[:5])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return harness.prepare(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def outcomes(folder):
    return [harness.run_case(c, folder) for c in cases(SEED, COUNT, profile="small")]


def test_no_spec_raises_an_internal_error(outcomes):
    failed = [o for o in outcomes if o.kind == "internal_error"]
    assert not failed, report(failed)


def test_every_parsed_spec_formats_to_text_that_parses_back_to_it(outcomes):
    failed = [o for o in outcomes if o.kind == "round_trip"]
    assert not failed, report(failed)


def test_check_time_is_bounded(outcomes, folder):
    slow = [o for o in outcomes if o.slow]
    # measured loosely: CPU seconds (harness.clock), and the fastest of three more tries
    again = [min((harness.run_case(o.case, folder) for _ in range(3)), key=lambda t: t.seconds) for o in slow]
    still = [o for o in again if o.slow]
    assert not still, "\n".join(f"{o.case.label}: {o.seconds:.2f} s" for o in still)


def test_the_cases_reach_every_edit_and_outcome(outcomes):
    kinds = Counter(o.kind for o in outcomes)
    assert kinds["ok"] > COUNT // 10 and kinds["spec_error"] > COUNT // 3, kinds
    assert {edit for o in outcomes for edit in o.case.edits} >= set(EDITS)


def test_full_size_cases_check_cleanly_too(folder):
    outcomes = [harness.run_case(case(SEED, index, "full"), folder) for index in range(FULL_SIZE)]
    failed = [o for o in outcomes if o.kind in ("internal_error", "round_trip")]
    assert not failed, report(failed)


def test_cli_exits_0_or_1_without_a_traceback(folder):
    for c in cases(SEED, COUNT // CLI_EVERY, profile="small"):
        c = case(SEED, c.index * CLI_EVERY, "small")
        code, out, err = harness.run_cli(c, folder)
        assert code in (0, 1), f"{c.label}: exit {code}\n{err[-2000:]}"
        assert "Traceback" not in err and "internal error" not in err, f"{c.label}\n{err[-2000:]}"
        if code == 1:
            assert re.search(r"\.rec:\d+:\d+: error: ", err), f"{c.label}\n{err[:2000]}"
        else:
            assert ": ok — model " in out, c.label


def test_the_generator_is_seeded_and_deterministic():
    first = [case(SEED, i, "small").data for i in range(50)]
    assert first == [case(SEED, i, "small").data for i in range(50)]
    assert first != [case(SEED + 1, i, "small").data for i in range(50)]
    assert case(SEED, 7).edits == case(SEED, 7).edits and case(SEED, 7).profile == "full"

