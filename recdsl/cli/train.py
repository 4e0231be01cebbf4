"""`recdsl train`, `evaluate`, `predict` and `demo`: argument parsing and printing around
recdsl.training (fit.train, scoring.evaluate and .predict)."""
from __future__ import annotations

import sys
from pathlib import Path

DEMO_ROWS = 120_000


def add_commands(sub) -> dict:
    p = sub.add_parser("train", help="train a spec on Parquet/CSV files; writes a run folder with a report")
    p.add_argument("spec", type=Path)
    p.add_argument("--train", nargs="+", metavar="PATH",
                   help="training files, folders or globs (none: a synthetic click log, as `recdsl demo`)")
    p.add_argument("--valid", nargs="+", metavar="PATH", help="validation data (early stopping, report)")
    p.add_argument("--test", nargs="+", metavar="PATH", help="test data, scored once at the end")
    p.add_argument("-o", "--output", type=Path, help="run folder; default runs/SPEC_NAME")
    _run_flags(p)
    p.add_argument("--force", action="store_true", help="replace a non-empty run folder")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in the same folder")
    _distribution_flags(p)
    p.add_argument("--backup-every-steps", type=int, metavar="N",
                   help="back up inside an epoch every N steps, for --resume (default 0: off)")
    p.add_argument("--backup-every-seconds", type=int, metavar="S",
                   help="back up inside an epoch every S seconds (default 600; 0: off)")

    p = sub.add_parser("evaluate", help="AUC/logloss of a trained run on labelled data")
    p.add_argument("run", type=Path, help="a run folder written by `recdsl train`")
    p.add_argument("--data", nargs="+", required=True, metavar="PATH")
    p.add_argument("--missing", choices=("error", "fill"), help="override the run's rule for missing values")

    p = sub.add_parser("predict", help="score data with a trained run; writes Parquet (or .csv)")
    p.add_argument("run", type=Path)
    p.add_argument("--data", nargs="+", required=True, metavar="PATH")
    p.add_argument("-o", "--output", type=Path, required=True, help="scores file (.parquet or .csv)")
    p.add_argument("--id-columns", default="", help="comma-separated input columns copied next to the scores")
    p.add_argument("--missing", choices=("error", "fill"))
    p.add_argument("--force", action="store_true", help="replace an existing scores file")

    p = sub.add_parser("demo", help="train the DIN example on a synthetic click log, beside avg pooling")
    p.add_argument("-o", "--output", type=Path, default=Path("runs/demo"), help="default runs/demo")
    p.add_argument("--rows", type=int, default=DEMO_ROWS, help=f"training rows (default {DEMO_ROWS:,})")
    _run_flags(p)
    p.add_argument("--force", action="store_true", help="replace a non-empty demo folder")
    return {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "demo": cmd_demo}


def _run_flags(p) -> None:
    p.add_argument("--config", type=Path, help="YAML run config (settings below override it)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", "--learning-rate", dest="learning_rate", type=float)
    p.add_argument("--optimizer")
    p.add_argument("--seed", type=int)
    p.add_argument("--precision", help="float32, mixed_float16 or mixed_bfloat16")
    p.add_argument("--jit", dest="jit_compile", choices=("auto", "on", "off"),
                   help="XLA compilation (auto: on where it is faster: GPU, JAX, CPU with small tables "
                        "and no dropout)")
    p.add_argument("--missing", choices=("error", "fill"), help="null/NaN values: stop (error) or fill and count")
    p.add_argument("--length-buckets", type=int, metavar="N",
                   help="batch rows of similar sequence length; cut sequences to a multiple of N (0: off)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--progress-every", type=float, default=30.0, metavar="SECONDS",
                   help="when stdout is not a terminal, a progress line every SECONDS of training "
                        "(default 30; 0: off); a terminal gets Keras' progress bar")


def _distribution_flags(p) -> None:
    """Scale-out (JAX backend; recdsl.training.distribution): the setting and the process flags."""
    p.add_argument("--distribution", choices=("auto", "none", "data", "model"),
                   help="auto (data parallel over several devices), none, data, or model (large tables row-sharded)")
    p.add_argument("--shard-tables-above", type=int, metavar="ROWS",
                   help="--distribution model: row-shard embedding tables of more rows (default 100,000)")
    p.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address (or RECDSL_COORDINATOR)")
    p.add_argument("--num-processes", type=int, metavar="N", help="processes of the run (or RECDSL_NUM_PROCESSES)")
    p.add_argument("--process-id", type=int, metavar="I", help="this process, 0..N-1 (or RECDSL_PROCESS_ID)")


def _config(args):
    from recdsl.training.config import load_config

    overrides = {k: getattr(args, k, None) for k in ("epochs", "batch_size", "learning_rate", "optimizer", "seed",
                                                     "precision", "jit_compile", "missing", "length_buckets",
                                                     "backup_every_steps", "backup_every_seconds",
                                                     "distribution", "shard_tables_above")}
    return load_config(args.config, overrides)


def _verbose(args) -> int:
    if args.quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


def _progress_every(args) -> float:
    """Seconds between progress lines: only when stdout is not a terminal (which has Keras' bar)."""
    return 0.0 if args.quiet or sys.stdout.isatty() else max(args.progress_every, 0.0)


def _log(args):
    return None if args.quiet else (lambda text: print(text, flush=True))


def cmd_train(args) -> int:
    from recdsl.checker import check_file

    config = _config(args)
    if not args.train:
        if args.valid or args.test:
            from recdsl.errors import UsageError

            raise UsageError("--valid/--test need --train")
        _check_synthetic_fits(args.spec, config)
        return _demo(args.output or Path("runs") / "demo", config, args, specs=[args.spec])
    spec = check_file(args.spec)
    out = args.output or Path("runs") / spec.name
    from recdsl.training.distribution import processes_of
    from recdsl.training.fit import train

    processes = processes_of(args.coordinator, args.num_processes, args.process_id)
    result = train(args.spec, args.train, args.valid, args.test, out, config=config, force=args.force,
                   resume=args.resume, verbose=_verbose(args), log=_log(args), processes=processes,
                   progress_every=_progress_every(args))
    result.run_dir = out  # written by process 0 (the others' scratch folders are gone)
    _summary(result)
    return 0


def _check_synthetic_fits(spec_path, config) -> None:
    """Without --train a spec trains on the synthetic click log, which has specs/din.rec's columns."""
    from recdsl.checker import check_file
    from recdsl.data.schema import schema_of
    from recdsl.demo.clicklog import SCHEMA
    from recdsl.errors import UsageError

    schema = schema_of(check_file(spec_path), config.columns, config.separators)
    missing = [c for c in schema.data_columns if c not in SCHEMA.names]
    if missing:
        raise UsageError(f"no --train data given, and the synthetic click log has no column "
                         f"{', '.join(repr(c) for c in missing)} for {spec_path}\n"
                         f"  hint: pass --train/--valid files, or write a spec over the synthetic columns "
                         f"({', '.join(SCHEMA.names)}), as specs/din.rec does")


def _summary(result) -> None:
    from recdsl.training.diagnostics import warnings_of
    from recdsl.training.report import format_metrics_table
    from recdsl.training.throughput import timing_line

    if result.metrics:
        print(format_metrics_table(result.metrics))
    t = result.timing
    print(timing_line(t))
    for stats in result.attention.values():
        for warning in warnings_of(stats):
            print(f"warning: {warning}")
    print(f"run folder: {result.run_dir}  (report.md, model.keras, metrics.json)")


def cmd_evaluate(args) -> int:
    from recdsl.training.report import format_metrics_table
    from recdsl.training.scoring import evaluate

    metrics, split = evaluate(args.run, args.data, missing=args.missing)
    print(format_metrics_table({"data": metrics}))
    print(f"{split.rows:,} rows")
    for fix in split.fixes.rows():
        print(f"  {fix['column']}: {fix['what']}: {fix['rows']:,} rows")
    return 0


def cmd_predict(args) -> int:
    from recdsl.training.scoring import predict

    ids = [c.strip() for c in args.id_columns.split(",") if c.strip()]
    path, split = predict(args.run, args.data, args.output, id_columns=ids, missing=args.missing, force=args.force)
    print(f"wrote {split.rows:,} scores to {path}")
    return 0


def demo_specs() -> list[Path]:
    """specs/din.rec and its avg-pooling twin, from the checkout or the installed package."""
    for base in (Path(__file__).resolve().parents[2] / "specs", Path(__file__).resolve().parents[1] / "specs"):
        if (base / "din.rec").is_file() and (base / "din_avg.rec").is_file():
            return [base / "din.rec", base / "din_avg.rec"]
    from recdsl.errors import UsageError

    raise UsageError("the bundled specs (specs/din.rec, specs/din_avg.rec) are not installed")


def cmd_demo(args) -> int:
    return _demo(args.output, _config(args), args, specs=demo_specs(), rows=args.rows)


def _demo(out: Path, config, args, specs, rows: int = DEMO_ROWS) -> int:
    """Write a synthetic click log, train each spec on it, and compare them."""
    from recdsl.demo.clicklog import write_click_log
    from recdsl.training.fit import train
    from recdsl.training.runs import prepare_run_dir

    log = _log(args)
    out = prepare_run_dir(out, force=args.force)
    if args.epochs is None and args.config is None:
        config.epochs = 3
    if log:
        log(f"writing a synthetic click log ({rows:,} training rows) to {out / 'data'}")
    files = write_click_log(out / "data", rows_train=rows, rows_valid=max(rows // 10, 1000),
                            rows_test=max(rows // 10, 1000), seed=config.seed)
    results = {}
    for spec in specs:
        name = Path(spec).stem
        if log:
            log(f"\n== {name} ==")
        results[name] = train(spec, files["train"], files["valid"], files["test"], out / name, config=config,
                              verbose=_verbose(args), log=log, progress_every=_progress_every(args))
    rows_md = ["| model | test AUC | test logloss | best epoch | train samples/s |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        m = r.metrics.get("test", r.metrics.get("valid", {})).get("ctr", {})
        rows_md.append(f"| {name} | {m.get('auc', float('nan')):.4f} | {m.get('logloss', float('nan')):.4f} | "
                       f"{r.timing['best_epoch']} | {r.timing['samples_per_sec'] or 0:,.0f} |")
    table = "\n".join(rows_md)
    lines = ["# recdsl demo: DIN attention vs avg pooling on a synthetic click log", "",
             "Users click items close to *one* of their interests (the planted signal), so attention over",
             "the history (DIN) should beat a plain average of it.", "", table, "",
             "Reports: " + ", ".join(f"[{n}]({n}/report.md)" for n in results), ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    print()
    print(table)
    if len(results) == 2:
        (a, ra), (b, rb) = results.items()
        auc_a = ra.metrics.get("test", {}).get("ctr", {}).get("auc", float("nan"))
        auc_b = rb.metrics.get("test", {}).get("ctr", {}).get("auc", float("nan"))
        verdict = "beats" if auc_a > auc_b else "does NOT beat"
        print(f"\n{a} {verdict} {b} by {auc_a - auc_b:+.4f} test AUC")
    print(f"demo folder: {out}  (README.md, one run folder per model)")
    return 0
