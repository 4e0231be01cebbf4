"""`recdsl diff OLD NEW`: the semantic difference of two specs, for review. Exit codes as diff's:
0 the same, 1 different, 2 an error (a spec that does not check, a missing file, an output that
exists without --force)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import recdsl
from recdsl.errors import EXIT_USAGE, UsageError
from recdsl.lang.errors import SpecErrors

EXIT_SAME, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2


def add_commands(sub) -> dict:
    p = sub.add_parser("diff", help="the semantic difference of two specs: nodes, arguments, shapes, parameters",
                       description="Compare two specs (.rec or YAML) node by node. Exit 0 when they are the same, "
                                   "1 when they differ, 2 on an error.")
    p.add_argument("old", type=Path, help="the spec before the change")
    p.add_argument("new", type=Path, help="the spec after the change")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="text for a terminal (default), markdown for a pull-request comment, json for tools")
    p.add_argument("-o", "--output", type=Path, help="also draw the difference (.svg, .png, .pdf or .dot)")
    p.add_argument("--force", action="store_true", help="overwrite an existing diagram file")
    return {"diff": cmd_diff}


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _checked_pair(old: Path, new: Path):
    """Both specs checked, or None after printing every located error of each (as `recdsl check` does)."""
    specs, count = [], 0
    for path in (old, new):
        if not path.exists():
            raise UsageError(f"no such spec file: {path}")
        try:
            specs.append(recdsl.check(path))
        except SpecErrors as errors:
            print(errors.render() + "\n", file=sys.stderr)
            count += sum(e.severity == "error" for e in errors.errors)
    if count:
        print(f"{count} error{'s' * (count != 1)}; nothing compared", file=sys.stderr)
        return None
    return specs


def cmd_diff(args) -> int:
    from recdsl.diagram import FORMATS, GraphvizMissing
    from recdsl.review.diff import diff_specs
    from recdsl.review.text import to_json_text, to_markdown, to_text

    out = args.output
    if out is not None:
        if out.suffix.lstrip(".").lower() not in FORMATS:
            raise UsageError(f"unknown diagram format {out.suffix or '(none)'!r}; use .svg, .png, .pdf or .dot")
        if out.exists() and not args.force:
            raise UsageError(f"{out} exists; pass --force to overwrite it")
    specs = _checked_pair(args.old, args.new)
    if specs is None:
        return EXIT_ERROR
    diff = diff_specs(*specs)
    text = {"text": lambda: to_text(diff, colour=_colour()), "markdown": lambda: to_markdown(diff),
            "json": lambda: to_json_text(diff)}[args.format]()
    sys.stdout.write(text)
    if out is not None:
        from recdsl.review.picture import render_diff

        try:
            render_diff(diff, *specs, out)
        except GraphvizMissing as missing:
            print(f"recdsl: graphviz's `dot` program is not installed, so {out} was not drawn; wrote {missing} "
                  "instead (apt-get install graphviz / brew install graphviz)", file=sys.stderr)
            return EXIT_USAGE
        print(f"wrote {out}", file=sys.stderr)
    return EXIT_SAME if diff.same else EXIT_DIFFERENT
