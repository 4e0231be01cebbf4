"""How fast does `recdsl lsp` answer? Starts the server as an editor does (`python -m recdsl lsp`,
LSP over stdio, a pygls client in this process) and times each request on every bundled spec,
from sending it to having the answer, next to a reference measured in the same run: the plain
`recdsl.check(path)` of the same spec in this process (parse + check, what the server adds to
an open or a change; its answers to the other requests reuse that analysis).

    python bench/lsp.py [--repeat 20] [SPEC ...]

Requests: open + diagnostics (didOpen until publishDiagnostics for that version; closed after),
hover over every name and op in turn, completion just inside every call, definition of every
reference, formatting of the whole document. Prints median and p95 ms per request.
Target: every p95 well under 100 ms on the bundled specs.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

import recdsl
from recdsl.lsp.analysis import analyse
from recdsl.lsp.positions import LineIndex

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = ("open + diagnostics", "hover", "completion", "definition", "formatting")


def bundled() -> list[Path]:
    return sorted([*ROOT.glob("specs/*.rec"), *ROOT.glob("examples/*/*.rec")])


def stats(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:.1f} / {p95 * 1000:.1f}"


def spots(path: Path, text: str) -> dict[str, list[types.Position]]:
    """Where to ask: every name and op (hover), just inside every call (completion), every reference."""
    analysis, lines = analyse(text, str(path)), LineIndex(text, "utf-16")

    def at(line, column):
        return types.Position(*lines.to_client(line, column))

    named = [o for o in analysis.occurrences if o.role in ("definition", "reference", "op")]
    return {
        "hover": [at(o.span.line, o.span.column) for o in named],
        "completion": [at(o.span.end_line, o.span.end_column + 1) for o in named if o.role == "op"],
        "definition": [at(o.span.line, o.span.column) for o in analysis.occurrences if o.role == "reference"],
    }


class Timer:
    def __init__(self):
        self.times: dict[str, list[float]] = {r: [] for r in REQUESTS}

    async def time(self, request: str, awaitable):
        start = time.perf_counter()
        result = await awaitable
        self.times[request].append(time.perf_counter() - start)
        return result


async def bench_spec(client: LanguageClient, waiting: dict, path: Path, repeat: int) -> Timer:
    text, uri, timer = path.read_text(encoding="utf-8"), path.resolve().as_uri(), Timer()
    doc = types.TextDocumentIdentifier(uri)
    for version in range(1, repeat + 1):
        arrived = asyncio.get_running_loop().create_future()
        waiting[(uri, version)] = arrived
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="rec", version=version, text=text)))
        await timer.time("open + diagnostics", arrived)
        places = spots(path, text)
        for i in range(len(places["hover"])):
            await timer.time("hover", client.text_document_hover_async(types.HoverParams(doc, places["hover"][i])))
        for where in places["completion"]:
            await timer.time("completion", client.text_document_completion_async(types.CompletionParams(doc, where)))
        for where in places["definition"]:
            await timer.time("definition", client.text_document_definition_async(types.DefinitionParams(doc, where)))
        options = types.FormattingOptions(tab_size=4, insert_spaces=True)
        await timer.time("formatting", client.text_document_formatting_async(
            types.DocumentFormattingParams(doc, options)))
        client.text_document_did_close(types.DidCloseTextDocumentParams(doc))
    return timer


def check_times(path: Path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        recdsl.check(path)
        times.append(time.perf_counter() - start)
    return times


async def run(paths: list[Path], repeat: int) -> None:
    client = LanguageClient("recdsl-bench", "1")
    waiting: dict = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def diagnostics(params: types.PublishDiagnosticsParams):
        arrived = waiting.pop((params.uri, params.version), None)
        if arrived is not None and not arrived.done():
            arrived.set_result(params.diagnostics)

    await client.start_io(sys.executable, "-m", "recdsl", "lsp", cwd=str(ROOT))
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    recdsl.check(paths[0])  # the reference's one-off imports and grammar load, as the server did at start
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"`recdsl lsp` over stdio, {repeat} rounds per spec; median / p95 ms per request "
          f"({os.cpu_count()} cores, load average {load:.1f} at the start)\n")
    print("| spec | reference: recdsl.check | " + " | ".join(REQUESTS) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in REQUESTS) + " |")
    worst = 0.0
    for path in paths:
        timer = await bench_spec(client, waiting, path, repeat)
        reference = check_times(path, repeat)
        print(f"| {path.relative_to(ROOT)} | {stats(reference)} | "
              + " | ".join(stats(timer.times[r]) for r in REQUESTS) + " |")
        worst = max([worst] + [sorted(t)[round(0.95 * (len(t) - 1))] for t in timer.times.values() if t])
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    print(f"\nslowest p95: {worst * 1000:.1f} ms; target < 100 ms: {'met' if worst < 0.1 else 'MISSED'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("specs", nargs="*", type=Path, help="specs to time (default: every bundled spec)")
    ap.add_argument("--repeat", type=int, default=20, help="rounds per spec")
    args = ap.parse_args()
    paths = [p.resolve() for p in args.specs] or bundled()
    asyncio.run(run(paths, args.repeat))


if __name__ == "__main__":
    main()
