"""`recdsl fmt` (rewrite .rec files in the canonical layout, keeping comments, as black and
`ruff format` do) and `recdsl schema` (the JSON Schema of the YAML form).

    recdsl fmt specs/                 # rewrite every .rec file in place
    recdsl fmt --check specs/din.rec  # exit 1 and name the files that would change
    recdsl fmt --diff spec.rec        # print a unified diff, write nothing
    recdsl fmt - < spec.rec           # standard input to standard output (for editors)

Exit codes of fmt: 0 done (or, with --check, nothing to change); 1 a file would change (--check)
or does not parse; 2 a file that is missing or is YAML. Every other file is still processed.
"""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

from recdsl.errors import EXIT_INVALID, EXIT_OK, UsageError
from recdsl.lang.errors import SpecErrors
from recdsl.lang.loader import YAML_SUFFIXES, read_spec_text

STDIN = Path("-")  # `recdsl fmt -`: read standard input, write the formatted text to standard output


def add_commands(sub) -> dict:
    p = sub.add_parser("fmt", help="rewrite .rec specs in the canonical layout, keeping comments",
                       description="Format .rec specs in place (like black). Comments and the blank lines "
                                   "between statements are kept. Folders are searched for *.rec files.")
    p.add_argument("specs", nargs="+", type=Path, metavar="SPEC",
                   help=".rec files or folders; - reads standard input and writes the result to standard output")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and list the files that would be reformatted")
    p.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of the changes")

    p = sub.add_parser("schema", help="print the JSON Schema of the YAML form of a spec",
                       description="The JSON Schema (draft 2020-12) of YAML specs, from the op registry, "
                                   "for a YAML language server.")
    p.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    return {"fmt": cmd_fmt, "schema": cmd_schema}


def cmd_fmt(args) -> int:
    from recdsl.lang.formatter import format_source

    changed, unchanged, failed, status = 0, 0, 0, EXIT_OK
    for path in _spec_files(args.specs):
        try:
            before = _rec_text(path)
            after = format_source(before, str(path))
        except (SpecErrors, UsageError) as problem:
            message = problem.render() if isinstance(problem, SpecErrors) else f"recdsl: error: {problem.render()}"
            print(message + "\n", file=sys.stderr)
            failed += 1
            status = max(status, problem.exit_code)
            continue
        if path == STDIN and not (args.check or args.diff):
            sys.stdout.write(after)
        if after.encode("utf-8") == (before.encode("utf-8") if path == STDIN else path.read_bytes()):
            unchanged += 1
            continue
        changed += 1
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                                       f"{path}", f"{path} (formatted)"))
        if args.check or args.diff:
            print(f"would reformat {path}", file=sys.stderr)
            status = max(status, EXIT_INVALID if args.check else EXIT_OK)
        else:
            if path != STDIN:
                path.write_text(after, encoding="utf-8", newline="")
            print(f"reformatted {path}", file=sys.stderr)
    print(_summary(changed, unchanged, failed, args.check or args.diff), file=sys.stderr)
    return status


def _spec_files(paths: list[Path]):
    """The files named, and the *.rec files under the folders named, each once, in order."""
    seen = set()
    for path in paths:
        found = sorted(path.rglob("*.rec")) if path.is_dir() else [path]
        for file in found:
            if file not in seen:
                seen.add(file)
                yield file


def _rec_text(path: Path) -> str:
    if path == STDIN:
        return sys.stdin.read()
    if path.suffix.lower() in YAML_SUFFIXES:
        raise UsageError(f"{path}: fmt formats .rec files, not YAML specs",
                         f"for the .rec form of this spec: recdsl convert {path} --to rec -o "
                         f"{path.with_suffix('.rec')}")
    if not path.is_file():
        raise UsageError(f"no such spec file: {path}")
    return read_spec_text(path)


def _summary(changed: int, unchanged: int, failed: int, dry_run: bool) -> str:
    def files(n: int) -> str:
        return f"{n} file{'s' * (n != 1)}"

    parts = []
    if changed:
        parts.append(f"{files(changed)} {'would be ' if dry_run else ''}reformatted")
    if unchanged:
        parts.append(f"{files(unchanged)} {'would be ' if dry_run else ''}left unchanged")
    if failed:
        parts.append(f"{files(failed)} failed to format")
    return ", ".join(parts) or "no .rec files found"


def cmd_schema(args) -> int:
    from recdsl.lang.json_schema import schema_text

    text = schema_text()
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    if args.output.exists() and not args.force:
        raise UsageError(f"{args.output} exists; pass --force to overwrite it")
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK

