"""`recdsl export`: argument parsing and printing around recdsl.serving.export."""
from __future__ import annotations

from pathlib import Path


def add_commands(sub) -> dict:
    p = sub.add_parser("export", help="write a TensorFlow SavedModel for serving that takes raw feature values")
    p.add_argument("run", type=Path, help="a run folder of `recdsl train` (or a `recdsl build` folder)")
    p.add_argument("-o", "--output", type=Path,
                   help="SavedModel folder; default RUN/serving/1 (TF Serving: --model_base_path=RUN/serving)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--show", action="store_true", help="print the serving signature only; write nothing")
    return {"export": cmd_export}


def cmd_export(args) -> int:
    import time

    from recdsl.cli.main import UsageError
    from recdsl.serving.export import ExportExists, describe, export, folder_kind, format_signature

    kind = folder_kind(args.run)
    rows = describe(args.run)
    if args.show:
        print(format_signature(rows, args.run, kind))
        return 0
    out = args.output or args.run / "serving" / "1"
    start = time.perf_counter()
    try:
        export(args.run, out, force=args.force)
    except ExportExists as exists:
        raise UsageError(exists.render()) from None
    print(format_signature(rows, args.run, kind))
    print()
    if kind == "build":
        print(f"note: {args.run} is a `recdsl build` folder (no preprocessing.json): the SavedModel takes the "
              "PREPROCESSED model inputs above (embedding rows, normalised values), not raw feature values; "
              "export a `recdsl train` run folder to serve raw values")
    inputs = sum(r["role"] == "input" for r in rows)
    print(f"exported {args.run} -> {out} in {time.perf_counter() - start:.1f} s "
          f"(SavedModel, signature 'serving_default', {inputs} inputs, "
          f"{'raw feature values' if kind == 'run' else 'preprocessed inputs'})")
    return 0
