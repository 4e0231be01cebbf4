"""A real LSP client (pytest-lsp) driving `python -m recdsl lsp` over stdio: one server for the
whole tests/lsp run (it takes a second or two to start). Tests share it, so each opens its
documents under its own URI; test modules that use it mark themselves asyncio(loop_scope="session")."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted([*ROOT.glob("specs/*.rec"), *ROOT.glob("examples/*/*.rec")])


@pytest_lsp.fixture(scope="session", config=ClientServerConfig(server_command=[sys.executable, "-m", "recdsl", "lsp", "--stdio"]))
async def client(lsp_client: LanguageClient):
    markdown = [types.MarkupKind.Markdown, types.MarkupKind.PlainText]
    capabilities = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        rename=types.RenameClientCapabilities(prepare_support=True),
        hover=types.HoverClientCapabilities(content_format=markdown),
        completion=types.CompletionClientCapabilities(
            completion_item=types.ClientCompletionItemOptions(documentation_format=markdown))))
    await lsp_client.initialize_session(types.InitializeParams(capabilities=capabilities, root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def open_document(client: LanguageClient, path: Path | str, text: str | None = None) -> str:
    """Open `path` (its text, or `text`) and wait for its diagnostics; returns its URI."""
    path = Path(path)
    uri = path.as_uri() if path.is_absolute() else (ROOT / path).as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="rec", version=1, text=path.read_text(encoding="utf-8") if text is None else text)))
    while True:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if uri in client.diagnostics:
            return uri


def position(text: str, marker: str, offset: int = 0) -> types.Position:
    """The 0-based UTF-16 position of the first `marker` in `text`, plus `offset` characters."""
    at = text.index(marker) + offset
    line = text.count("\n", 0, at)
    before = text[text.rfind("\n", 0, at) + 1:at]
    return types.Position(line, len(before.encode("utf-16-le")) // 2)
