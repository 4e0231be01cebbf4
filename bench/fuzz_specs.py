"""Fuzz the front end: N mutated specs (tests/fuzz/generator.py) through load + check, the canonical
format round trip, the graph and the DOT source. Prints the counts per outcome and the slowest specs;
exits 1 when any spec raised an internal error (anything but SpecErrors) or did not round-trip.

    python bench/fuzz_specs.py [--count 100000] [--seed 0] [--jobs 1] [--profile full|small] [--save DIR]

Outcomes (tests/fuzz/harness.py): ok, spec error, internal error, round-trip mismatch; a spec is
also slow when load + check took over --slow seconds. A case is reproduced by its seed and index:
`tests.fuzz.generator.case(seed, index, profile).data`.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz import harness  # noqa: E402
from tests.fuzz.generator import PROFILES, case  # noqa: E402

LABELS = {"ok": "ok", "spec_error": "spec error", "internal_error": "internal error",
          "round_trip": "round-trip mismatch"}


def run_range(seed: int, start: int, stop: int, slow: float, profile: str) -> list[tuple]:
    """(index, kind, seconds, edits, detail) of the cases start..stop-1."""
    harness.SLOW_SECONDS = slow
    rows = []
    with tempfile.TemporaryDirectory(prefix="recdsl-fuzz-") as tmp:
        folder = harness.prepare(Path(tmp))
        for index in range(start, stop):
            outcome = harness.run_case(case(seed, index, profile), folder)
            rows.append((index, outcome.kind, outcome.seconds, outcome.case.source.name, outcome.case.edits,
                         outcome.detail))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (times are noisier with more)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full",
                        help="how big the big edits get (small: the CI suite's sizes)")
    parser.add_argument("--slow", type=float, default=harness.SLOW_SECONDS, help="seconds that make a spec slow")
    parser.add_argument("--show", type=int, default=10, help="slowest specs and failures to list")
    parser.add_argument("--save", type=Path, help="write every failing or slow case here as SEED-INDEX.rec")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    chunk = 500
    bounds = [(s, min(s + chunk, args.start + args.count)) for s in range(args.start, args.start + args.count, chunk)]
    rows: list[tuple] = []
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for part in pool.map(run_range, *zip(*[(args.seed, a, b, args.slow, args.profile) for a, b in bounds])):
                rows.extend(part)
    else:
        for a, b in bounds:
            rows.extend(run_range(args.seed, a, b, args.slow, args.profile))
    wall = time.perf_counter() - started

    counts = {kind: sum(1 for r in rows if r[1] == kind) for kind in harness.OUTCOMES}
    slow = [r for r in rows if r[2] > args.slow]
    print(f"fuzz: {len(rows):,} specs, seed {args.seed}, cases {args.start}..{args.start + args.count - 1}, "
          f"profile {args.profile}, {args.jobs} job(s), {wall:.0f} s\n")
    print("| outcome | specs |\n| --- | ---: |")
    for kind in harness.OUTCOMES:
        print(f"| {LABELS[kind]} | {counts[kind]:,} |")
    print(f"| slow (> {args.slow:g} s) | {len(slow):,} |")
    times = sorted(r[2] for r in rows)
    if times:
        print(f"\ncheck time: median {times[len(times) // 2] * 1000:.1f} ms, "
              f"p99 {times[int(len(times) * 0.99)] * 1000:.1f} ms, max {times[-1] * 1000:.0f} ms")
    print(f"\nslowest {args.show}:")
    print("| case | seconds | from | edits | outcome |\n| ---: | ---: | --- | --- | --- |")
    for index, kind, seconds, source, edits, _ in sorted(rows, key=lambda r: -r[2])[:args.show]:
        print(f"| {index} | {seconds:.3f} | {source} | {', '.join(edits)} | {LABELS[kind]} |")
    failures = [r for r in rows if r[1] in ("internal_error", "round_trip")]
    for index, kind, _, source, edits, detail in failures[:args.show]:
        print(f"\n{LABELS[kind]}: case {index} ({source}: {', '.join(edits)})\n{detail}")
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for row in failures + slow:
            (args.save / f"{args.seed}-{row[0]}.rec").write_bytes(case(args.seed, row[0], args.profile).data)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
