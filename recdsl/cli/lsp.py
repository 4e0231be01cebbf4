"""`recdsl lsp`: the language server for .rec files (recdsl.lsp), on stdin/stdout by default."""
from __future__ import annotations

from recdsl.errors import EXIT_OK, UsageError


def add_commands(sub) -> dict:
    p = sub.add_parser("lsp", help="run the language server for editors (LSP over stdio)")
    p.add_argument("--stdio", action="store_true", help="talk LSP on stdin/stdout (the default; editors pass it)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP port instead of stdio")
    return {"lsp": cmd_lsp}


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--tcp takes HOST:PORT, got {text!r}", "e.g. --tcp 127.0.0.1:2087")
    return host or "127.0.0.1", int(port)


def cmd_lsp(args) -> int:
    import recdsl
    from recdsl.lsp.server import serve

    serve(_address(args.tcp) if args.tcp else None, recdsl.__version__)
    return EXIT_OK
