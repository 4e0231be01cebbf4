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
    p.add_argument("--table", action="store_true",
                   help="print every node with its op, shape and parameters, and each embedding table's bytes")
    p.add_argument("--devices", type=int, default=1, metavar="N",
                   help="--table: bytes per device under model parallel over N devices (`distribution: model`)")
    p.add_argument("--shard-tables-above", type=int, metavar="ROWS",
                   help="--devices: tables of more rows are row-sharded (default 100,000, as in training)")

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
            print(_table_bytes(spec, args.devices, args.shard_tables_above))
    return status


def _table_bytes(spec, devices: int, threshold: int | None) -> str:
    """Each embedding table's float32 bytes and, over several devices, its bytes per device under
    model parallel (recdsl.checker.memory.table_bytes)."""
    from recdsl.buildfolder import format_table
    from recdsl.checker.memory import SHARD_TABLES_ABOVE, size_text, table_bytes

    if devices < 1:
        raise UsageError(f"--devices must be at least 1, got {devices}")
    threshold = SHARD_TABLES_ABOVE if threshold is None else threshold
    tables, per_device = table_bytes(spec, devices, threshold)
    head = ("table", "rows", "dim", "bytes") + ((f"per device ({devices})",) if devices > 1 else ())
    def note(rows: int, nbytes: int, here: int) -> str:
        if here == nbytes:
            return ""
        return " (row-sharded)" if rows % devices == 0 else f" (row-sharded, padded to {-(-rows // devices) * devices:,} rows)"

    rows = [head] + [(name, f"{r:,}", str(d), size_text(b)) + ((size_text(p) + note(r, b, p),) if devices > 1 else ())
                     for name, r, d, b, p in tables]
    total = sum(b for *_, b, _ in tables)
    footer = f"embedding tables: {size_text(total)}"
    if devices > 1:
        footer += (f"; per device under model parallel over {devices} devices (tables of more than "
                   f"{threshold:,} rows row-sharded): model {size_text(per_device)}")
    return format_table(rows, footer)


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
