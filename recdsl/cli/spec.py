"""`recdsl check`, `render`, `build`, `graph` and `convert`: argument parsing and printing around
the public API (recdsl.check, draw, build, dependency_graph, load). None of them imports Keras
except `build`."""
from __future__ import annotations

import sys
from pathlib import Path

import recdsl
from recdsl.errors import EXIT_INVALID, EXIT_OK, UsageError
from recdsl.lang.errors import SpecErrors


def add_commands(sub) -> dict:
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
    return {"check": cmd_check, "render": cmd_render, "build": cmd_build, "graph": cmd_graph,
            "convert": cmd_convert}


def _existing(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"no such spec file: {path}")
    return path


def _checked(path: Path):
    return recdsl.check(_existing(path))


def _writable(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")


def _print_warnings(spec) -> None:
    for warning in spec.warnings:
        print(warning.render(spec.sources.get(warning.span.file)), file=sys.stderr)


def cmd_check(args) -> int:
    status = EXIT_OK
    for path in args.specs:
        try:
            spec = _checked(path)
        except SpecErrors as errors:  # report it and go on with the next file
            print(errors.render() + "\n", file=sys.stderr)
            status = EXIT_INVALID
            continue
        if not args.quiet:
            _print_warnings(spec)
            warn = f", {len(spec.warnings)} warning{'s' * (len(spec.warnings) != 1)}" if spec.warnings else ""
            print(f"{path}: ok — model {spec.name}, {len(spec.nodes)} nodes, {spec.total_params:,} parameters{warn}")
        if args.table:
            from recdsl.buildfolder import node_table

            print(node_table(spec))
    return status


def cmd_render(args) -> int:
    from recdsl.diagram import FORMATS, GraphvizMissing

    spec = _checked(args.spec)
    out = args.output or Path(args.spec.stem + ".svg")
    if out.suffix.lstrip(".").lower() not in FORMATS:
        raise UsageError(f"unknown diagram format {out.suffix or '(none)'!r}; use .svg, .png, .pdf or .dot")
    _writable(out, args.force)
    try:
        recdsl.draw(spec, out)
    except GraphvizMissing as missing:  # not an error of the spec: the .dot file is written
        print(f"recdsl: graphviz's `dot` program is not installed, so {out} was not drawn; wrote {missing} instead.\n"
              "  install graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)\n"
              f"  then run again, or draw it yourself: dot -T{out.suffix.lstrip('.')} {missing} -o {out}",
              file=sys.stderr)
        return EXIT_INVALID
    _print_warnings(spec)
    print(f"wrote {out}")
    return EXIT_OK


def cmd_build(args) -> int:
    spec = _checked(args.spec)
    result = recdsl.build(spec, args.output or Path("out") / args.spec.stem, force=args.force)
    _print_warnings(spec)
    print(result.summary)
    if result.diagram_missing:
        print(f"recdsl: graphviz's `dot` is not installed; wrote {result.diagram_missing} instead of an svg "
              "(apt-get install graphviz / brew install graphviz)", file=sys.stderr)
    print(f"\nbuilt {spec.name} in {result.seconds:.2f} s -> " + ", ".join(str(f) for f in result.files))
    return EXIT_OK


def cmd_graph(args) -> int:
    from recdsl.graph import to_json_text, to_text

    graph = recdsl.dependency_graph(_checked(args.spec))
    sys.stdout.write(to_json_text(graph) if args.json else to_text(graph))
    return EXIT_OK


def cmd_convert(args) -> int:
    spec = recdsl.load(_existing(args.spec))
    if args.to == "yaml":
        from recdsl.lang.yamlform import dump_yaml

        text = dump_yaml(spec)
    else:
        from recdsl.lang.formatter import format_source, format_spec
        from recdsl.lang.loader import YAML_SUFFIXES, read_spec_text

        is_yaml = args.spec.suffix.lower() in YAML_SUFFIXES  # a .rec input keeps its comments
        text = format_spec(spec) if is_yaml else format_source(read_spec_text(args.spec), str(args.spec))
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    _writable(args.output, args.force)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return EXIT_OK
