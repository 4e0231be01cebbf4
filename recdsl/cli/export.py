"""`recdsl export`: argument parsing and printing around recdsl.serving (the signature's
description and the SavedModel)."""
from __future__ import annotations

from pathlib import Path


def add_commands(sub) -> dict:
    p = sub.add_parser("export", help="write a TensorFlow SavedModel for serving that takes raw feature values")
    p.add_argument("run", type=Path, help="a run folder of `recdsl train` (or a `recdsl build` folder)")
    p.add_argument("-o", "--output", type=Path,
                   help="SavedModel folder; default RUN/serving/1 (TF Serving: --model_base_path=RUN/serving)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--show", action="store_true", help="print the serving signature only; write nothing")
    p.add_argument("--format", choices=("savedmodel", "onnx"), default="savedmodel",
                   help="savedmodel (raw feature values, preprocessing inside; default) or onnx (the model on "
                        "PREPROCESSED inputs, default RUN/serving/model.onnx: docs/serving.md)")
    return {"export": cmd_export}


def cmd_export(args) -> int:
    import time

    code = _on_tensorflow(args)
    if code is not None:
        return code
    if args.format == "onnx" and not args.show:
        return _onnx(args)
    from recdsl.serving.savedmodel import export
    from recdsl.serving.signature import describe, folder_kind

    kind = folder_kind(args.run)
    rows = describe(args.run)
    if args.show:
        print(format_signature(rows, args.run, kind))
        return 0
    out = args.output or args.run / "serving" / "1"
    start = time.perf_counter()
    export(args.run, out, force=args.force)
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


def _onnx(args) -> int:
    import time

    from recdsl.serving.onnx import export_onnx
    from recdsl.serving.signature import build_signature_rows

    out = args.output or args.run / "serving" / "model.onnx"
    start = time.perf_counter()
    export_onnx(args.run, out, force=args.force)
    rows = build_signature_rows(args.run)
    table = format_signature(rows, args.run, "build").split("\n", 1)[1]
    print(f"ONNX model of {args.run}: PREPROCESSED inputs (the preprocessing is not in the graph: "
          f"docs/serving.md)\n{table}")
    print(f"\nexported {args.run} -> {out} in {time.perf_counter() - start:.1f} s (ONNX, "
          f"{sum(r['role'] == 'input' for r in rows)} preprocessed inputs: recdsl.load_run(RUN).inputs(rows) "
          "makes them from raw rows)")
    return 0


def _on_tensorflow(args) -> int | None:
    """A SavedModel is TensorFlow's. model.keras is backend-independent, so a run trained under JAX
    or torch is exported by loading it into Keras' TensorFlow backend: chosen here when Keras is not
    imported yet, else this command runs again in a Python with KERAS_BACKEND=tensorflow (its exit
    code is returned). None: go on here."""
    import os
    import sys

    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"
        return None
    import keras

    if keras.backend.backend() == "tensorflow":
        return None
    import subprocess

    again = [sys.executable, "-m", "recdsl", "export", str(args.run)] + (["-o", str(args.output)] if args.output else [])
    again += ["--force"] * args.force + ["--show"] * args.show + ["--format", args.format]
    return subprocess.run(again, env={**os.environ, "KERAS_BACKEND": "tensorflow"}).returncode


def format_signature(rows: list[dict], run_dir, kind: str) -> str:
    """The `recdsl export --show` text: what the signature takes, one input or output a line."""
    from recdsl.serving.signature import LENGTHS_SUFFIX, SIGNATURE

    head = (f"signature {SIGNATURE!r} of {run_dir}: "
            + ("raw feature values, preprocessing inside" if kind == "run" else
               "PREPROCESSED inputs (a build folder: no preprocessing.json, so no preprocessing inside)"))
    table = [("", "name", "dtype", "shape", "meaning")]
    for r in rows:
        is_values = r["list"] and not r["name"].endswith(LENGTHS_SUFFIX) and kind == "run"
        table.append((r["role"], r["name"], r["dtype"], _shape_text(r["shape"], r["role"], is_values), r["meaning"]))
    widths = [max(len(t[i]) for t in table) for i in range(4)]
    lines = [head, ""]
    for i, t in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(t[:4], widths)) + "  " + t[4])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
    notes = ["B = rows in the request."]
    if kind == "run" and any(r["list"] for r in rows):
        notes.append("N = all list values of the request; NAME_lengths must sum to N "
                     "(TF Serving REST: use the columnar \"inputs\" format).")
    return "\n".join(line.rstrip() for line in lines) + "\n\n" + " ".join(notes)


def _shape_text(shape, role: str = "input", is_list: bool = False) -> str:
    """[B], [B, 3] or, for a list's flat values, [N]; an unknown size is "?"."""
    dims = ["N" if (is_list and i == 0 and role == "input") else ("B" if i == 0 else str(d if d is not None else "?"))
            for i, d in enumerate(shape)]
    return "[" + ", ".join(dims) + "]"
