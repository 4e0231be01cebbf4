"""The `recdsl` command: parses arguments and calls the library. Exit codes: 0 ok, 1 invalid spec
(or a requested output that could not be made), 2 usage error."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recdsl.data.errors import DataError
from recdsl.lang.errors import SpecErrors

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in how the command was called (missing file, existing output, bad format)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recdsl", description="Compile .rec recommendation model specs.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    parser.add_argument("--version", action="version", version=f"recdsl {__import__('recdsl').__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="parse and type-check specs; errors with file:line:col")
    p.add_argument("specs", nargs="+", type=Path, help=".rec or .yaml spec files")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.add_argument("--table", action="store_true", help="print every node with its op, shape and parameters")

    p = sub.add_parser("render", help="draw the architecture diagram (svg, png, pdf, dot)")
    p.add_argument("spec", type=Path)
    p.add_argument("-o", "--output", type=Path, help="diagram file; default SPEC_NAME.svg")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")

    p = sub.add_parser("build", help="compile to a Keras model: model.keras, graph.json, diagram, summary")
    p.add_argument("spec", type=Path)
    p.add_argument("-o", "--output", type=Path, help="output folder; default out/SPEC_NAME")
    p.add_argument("--force", action="store_true", help="overwrite a non-empty output folder")

    p = sub.add_parser("graph", help="print the dependency graph")
    p.add_argument("spec", type=Path)
    p.add_argument("--json", action="store_true", help="node-link JSON (default: a text listing)")

    p = sub.add_parser("convert", help="convert between .rec and YAML, or format canonically")
    p.add_argument("spec", type=Path)
    p.add_argument("--to", choices=("yaml", "rec"), required=True)
    p.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")

    from recdsl.cli.train import add_commands

    COMMANDS.update(add_commands(sub))
    from recdsl.cli.export import add_commands as add_export_commands
    COMMANDS.update(add_export_commands(sub))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SpecErrors as errors:
        print(errors.render(), file=sys.stderr)
        count = sum(e.severity == "error" for e in errors.errors)
        print(f"\n{count} error{'s' * (count != 1)}", file=sys.stderr)
        return EXIT_INVALID
    except UsageError as problem:
        print(f"recdsl: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except DataError as problem:  # bad data, run config or run folder: file, column and row
        print(f"recdsl: error: {problem.render()}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as problem:
        if args.debug:
            raise
        print(f"recdsl: error: {problem.strerror or problem}: {problem.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as problem:  # a bug in recdsl, not a user mistake
        if args.debug:
            raise
        print(f"recdsl: internal error: {type(problem).__name__}: {problem}\n"
              "  run again with --debug for the traceback, and please report it", file=sys.stderr)
        return 3


def _checked(path: Path):
    import recdsl

    if not path.exists():
        raise UsageError(f"no such spec file: {path}")
    return recdsl.typecheck(path)


def _print_warnings(spec) -> None:
    for warning in spec.warnings:
        print(warning.render(spec.sources.get(warning.span.file)), file=sys.stderr)


def cmd_check(args) -> int:
    status = EXIT_OK
    for path in args.specs:
        try:
            spec = _checked(path)
        except SpecErrors as errors:
            print(errors.render() + "\n", file=sys.stderr)
            status = EXIT_INVALID
            continue
        if not args.quiet:
            _print_warnings(spec)
            warn = f", {len(spec.warnings)} warning{'s' * (len(spec.warnings) != 1)}" if spec.warnings else ""
            print(f"{path}: ok — model {spec.name}, {len(spec.nodes)} nodes, {spec.total_params:,} parameters{warn}")
        if args.table:
            print(node_table(spec))
    return status


def node_table(spec) -> str:
    from recdsl.buildfolder import format_table
    from recdsl.ops.types import shape_text

    rows = [("node", "kind", "op", "output shape", "params")]
    rows += [(n.name, n.kind, n.op, shape_text(n.type), f"{n.params:,}") for n in spec.nodes]
    return format_table(rows, f"total parameters: {spec.total_params:,}")


def _writable(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")


def cmd_render(args) -> int:
    from recdsl.graph import build_graph
    from recdsl.diagram import FORMATS, GraphvizMissing, render

    spec = _checked(args.spec)
    out = args.output or Path(args.spec.stem + ".svg")
    if out.suffix.lstrip(".").lower() not in FORMATS:
        raise UsageError(f"unknown diagram format {out.suffix or '(none)'!r}; use .svg, .png, .pdf or .dot")
    _writable(out, args.force)
    try:
        render(build_graph(spec), out)
    except GraphvizMissing as missing:
        print(f"recdsl: graphviz's `dot` program is not installed, so {out} was not drawn; wrote {missing} instead.\n"
              "  install graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)\n"
              f"  then run again, or draw it yourself: dot -T{out.suffix.lstrip('.')} {missing} -o {out}",
              file=sys.stderr)
        return EXIT_INVALID
    _print_warnings(spec)
    print(f"wrote {out}")
    return EXIT_OK


def cmd_build(args) -> int:
    from recdsl.buildfolder import OutputExists, build

    spec = _checked(args.spec)
    out = args.output or Path("out") / args.spec.stem
    try:
        result = build(spec, out, force=args.force)
    except OutputExists as exists:
        raise UsageError(str(exists)) from None
    _print_warnings(spec)
    print(result.summary)
    if result.diagram_missing:
        print(f"recdsl: graphviz's `dot` is not installed; wrote {result.diagram_missing} instead of an svg "
              "(apt-get install graphviz / brew install graphviz)", file=sys.stderr)
    print(f"\nbuilt {spec.name} in {result.seconds:.2f} s -> " + ", ".join(str(f) for f in result.files))
    return EXIT_OK


def cmd_graph(args) -> int:
    from recdsl.graph import build_graph, to_json_text

    spec = _checked(args.spec)
    graph = build_graph(spec)
    if args.json:
        sys.stdout.write(to_json_text(graph))
        return EXIT_OK
    from recdsl.diagram import shape_label

    for name in graph.nodes:
        attrs = graph.nodes[name]
        sources = ", ".join(f"{u} ({d['kind']})" if d["kind"] != "data"
                            else u + (f", {u} ({d['share_kind']})" if d.get("share_kind") else "")
                            for u, _, d in graph.in_edges(name, data=True))
        print(f"{name}: {attrs['op']} {shape_label(attrs['shape'])} {attrs['params']:,} params"
              + (f" <- {sources}" if sources else ""))
    return EXIT_OK


def cmd_convert(args) -> int:
    import recdsl

    if not args.spec.exists():
        raise UsageError(f"no such spec file: {args.spec}")
    spec = recdsl.load(args.spec)
    if args.to == "yaml":
        from recdsl.lang.yamlform import dump_yaml

        text = dump_yaml(spec)
    else:
        from recdsl.lang.formatter import format_spec

        text = format_spec(spec)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    _writable(args.output, args.force)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return EXIT_OK


COMMANDS = {"check": cmd_check, "render": cmd_render, "build": cmd_build, "graph": cmd_graph,
            "convert": cmd_convert}

if __name__ == "__main__":  # `python -m recdsl.cli.main`: run the imported module, so its exception
    from recdsl.cli.main import main as _main  # classes are the ones the sub-commands raise

    sys.exit(_main())
