"""Run the `recdsl` command in-process and capture what it prints."""
from __future__ import annotations

import contextlib
import io


def call(argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `recdsl ARGV...`; arguments may be paths."""
    from recdsl.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as stop:
            code = stop.code
    return code, out.getvalue(), err.getvalue()
