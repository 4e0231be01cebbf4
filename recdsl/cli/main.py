"""The `recdsl` command: the parser, the dispatch to the commands (recdsl.cli.spec, .train,
.export) and the one place where errors become messages and exit codes: 0 ok, 1 invalid spec,
data or run (or a requested output that could not be made), 2 usage error, 3 a bug in recdsl,
141 the reader of the output went away (a closed pipe)."""
from __future__ import annotations

import argparse
import io
import os
import sys

from recdsl.cli import diff, export, fmt, lsp, spec, train
from recdsl.cli.quiet import TF_COMMANDS, silence_tensorflow
from recdsl.errors import EXIT_USAGE, RecdslError
from recdsl.lang.errors import SpecErrors

EXIT_BUG, EXIT_INTERRUPTED = 3, 130
#: the reader of our output went away (`recdsl graph spec | head`): the code of a process that
#: SIGPIPE ended, as `cat` gives, and nothing printed
EXIT_BROKEN_PIPE = 141


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    """The argument parser and its commands, by name."""
    parser = argparse.ArgumentParser(prog="recdsl", description="Compile .rec recommendation model specs.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for errors (and, as "
                        "--verbose, TensorFlow's own log lines)")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's and Keras' own log lines and warnings (hidden by default)")
    parser.add_argument("--version", action="version", version=f"recdsl {__import__('recdsl').__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {}
    for family in (spec, fmt, diff, lsp, train, export):
        commands.update(family.add_commands(sub))
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = _parser()
    args = parser.parse_args(argv)
    if args.command in TF_COMMANDS and not (args.verbose or args.debug):
        silence_tensorflow()
    try:
        code = commands[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except RecdslError as problem:
        return report(problem)
    except OSError as problem:
        if args.debug:
            raise
        print(f"recdsl: error: {problem.strerror or problem}: {problem.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as problem:  # a bug in recdsl, not a user mistake
        if args.debug:
            raise
        print(f"recdsl: internal error: {type(problem).__name__}: {problem}\n"
              "  run again with --debug for the traceback, and please report it", file=sys.stderr)
        return EXIT_BUG


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit does not fail on the closed pipe."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def report(problem: RecdslError) -> int:
    """Print a user's error to stderr and return its exit code. Spec errors print rustc-style,
    with a count; every other error as `recdsl: error: MESSAGE` and its hint."""
    if isinstance(problem, SpecErrors):
        print(problem.render(), file=sys.stderr)
        count = sum(e.severity == "error" for e in problem.errors)
        print(f"\n{count} error{'s' * (count != 1)}", file=sys.stderr)
    else:
        print(f"recdsl: error: {problem.render()}", file=sys.stderr)
    return problem.exit_code
