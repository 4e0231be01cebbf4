"""`recdsl lsp`: the command's arguments, and the server over TCP (stdio is what the other tests drive)."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import pytest

from recdsl.cli.main import main
from tests.lsp.conftest import ROOT


@pytest.mark.parametrize("address", ["nope", "host:", "host:99999"])
def test_a_bad_tcp_address_is_a_usage_error(address, capsys):
    assert main(["lsp", "--tcp", address]) == 2
    assert capsys.readouterr().err == (f"recdsl: error: --tcp takes HOST:PORT, got {address!r}\n"
                                       "  hint: e.g. --tcp 127.0.0.1:2087\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


class _Messages:
    """LSP messages read off a socket, in order (a read may hold parts of several)."""

    def __init__(self, connection: socket.socket):
        self.connection, self.buffer = connection, b""

    def next(self) -> dict:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.connection.recv(65536)
        head, rest = self.buffer.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(rest) < length:
            rest += self.connection.recv(65536)
        self.buffer = rest[length:]
        return json.loads(rest[:length])


def test_over_tcp_a_client_asking_for_utf8_positions_gets_them():
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "recdsl", "lsp", "--tcp", f"127.0.0.1:{port}"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with _connect(port, server) as connection:
            messages = _Messages(connection)
            connection.sendall(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "processId": None, "rootUri": None, "capabilities": {"general": {"positionEncodings": ["utf-8"]}}}}))
            answer = messages.next()
            assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "recdsl"
            capabilities = answer["result"]["capabilities"]
            assert capabilities["positionEncoding"] == "utf-8" and capabilities["textDocumentSync"]["change"] == 1
            assert capabilities["hoverProvider"] and capabilities["definitionProvider"]
            assert capabilities["completionProvider"]["triggerCharacters"] == ["(", ",", "=", "[", ":"]
            text = 'model m\nfeature g : category(vocab=["😀", "é"], dim=8, bogus=1)\noutput o = sigmoid(g)\n'
            connection.sendall(_message({"jsonrpc": "2.0", "method": "initialized", "params": {}}) + _message(
                {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                    "uri": "file:///nowhere/utf8.rec", "languageId": "rec", "version": 1, "text": text}}}))
            published = messages.next()
        assert published["method"] == "textDocument/publishDiagnostics"
        (only,) = published["params"]["diagnostics"]
        bogus = len(text.split("\n")[1].split("bogus")[0].encode("utf-8"))  # 46 code points, 50 bytes
        assert only["range"] == {"start": {"line": 1, "character": bogus}, "end": {"line": 1, "character": bogus + 5}}
        assert bogus == 50
    finally:
        server.kill()
        server.wait(timeout=30)


def _connect(port: int, server: subprocess.Popen) -> socket.socket:
    deadline = time.monotonic() + 60
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except ConnectionRefusedError:
            assert time.monotonic() < deadline and server.poll() is None, "the server did not listen"
            time.sleep(0.1)
