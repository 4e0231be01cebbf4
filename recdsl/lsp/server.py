"""The language server: pygls wiring around the pure analysis (recdsl.lsp.analysis and friends).

Every request reads the Analysis of the document's current version, computed once per version
and cached; positions are converted between the client's encoding (UTF-16 unless the client
offers another) and recdsl's 1-based code-point spans by recdsl.lsp.positions.LineIndex.
"""
from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from recdsl.lang.errors import SpecError, SpecErrors
from recdsl.lang.span import Span
from recdsl.lsp.analysis import Analysis, analyse, default_file
from recdsl.lsp.completion import complete
from recdsl.lsp.hover import hover_text
from recdsl.lsp.navigation import RenameRefused, definition, outline, prepare_rename, references, rename
from recdsl.lsp.positions import LineIndex

REQUEST_FAILED = -32803  # LSPErrorCodes.RequestFailed: shown to the user as the request's answer
SYMBOL_KINDS = {"feature": types.SymbolKind.Field, "group": types.SymbolKind.Array,
                "pool": types.SymbolKind.Function, "gate": types.SymbolKind.Operator,
                "block": types.SymbolKind.Class, "output": types.SymbolKind.Event}
COMPLETION_KINDS = {"keyword": types.CompletionItemKind.Keyword, "op": types.CompletionItemKind.Function,
                    "argument": types.CompletionItemKind.Property, "enum": types.CompletionItemKind.EnumMember,
                    "value": types.CompletionItemKind.Value, "name": types.CompletionItemKind.Variable}
WARM_UP = "model warm_up\nfeature a : id(buckets=10)\noutput y = sigmoid(a)\n"
SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


@dataclass(frozen=True)
class _Version:
    version: int | None
    text: str
    analysis: Analysis
    lines: LineIndex


class RecServer(LanguageServer):
    """pygls's LanguageServer with one cached Analysis per open document."""

    def __init__(self, version: str):
        # Full sync: specs are small, and pygls applies incremental edits by str.splitlines, which also
        # breaks at \f, \v and U+2028, where editors (and recdsl's spans) do not.
        super().__init__("recdsl", version, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.analyses: dict[str, _Version] = {}

    def current(self, uri: str) -> _Version:
        """The analysis of the document's current text, computed at most once per version."""
        doc = self.workspace.get_text_document(uri)
        cached = self.analyses.get(uri)
        if cached is not None and cached.version == doc.version and cached.text == doc.source:
            return cached
        path = doc.path if uri.startswith("file:") else None
        encoding = self.workspace.position_encoding or "utf-16"
        encoding = getattr(encoding, "value", encoding)  # a PositionEncodingKind, or a plain string
        fresh = _Version(doc.version, doc.source, analyse(doc.source, default_file(path)),
                         LineIndex(doc.source, encoding))
        self.analyses[uri] = fresh
        return fresh

    def publish(self, uri: str) -> None:
        state = self.current(uri)
        diagnostics = [diagnostic(p, state.lines) for p in state.analysis.problems
                       if p.span.file == state.analysis.file]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=state.version))


def _markup(formats, value: str) -> types.MarkupContent | str:
    """Markdown where the client says it renders it (`formats`: its list for this feature), else plain text."""
    if formats and types.MarkupKind.Markdown in formats:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=value)
    return value


def _hover_formats(ls: RecServer):
    return getattr(getattr(ls.client_capabilities.text_document, "hover", None), "content_format", None)


def _completion_formats(ls: RecServer):
    completion = getattr(ls.client_capabilities.text_document, "completion", None)
    return getattr(getattr(completion, "completion_item", None), "documentation_format", None)


def lsp_range(span: Span, lines: LineIndex) -> types.Range:
    (sl, sc), (el, ec) = lines.range_to_client(span)
    return types.Range(types.Position(sl, sc), types.Position(el, ec))


def diagnostic(problem: SpecError, lines: LineIndex) -> types.Diagnostic:
    """A recdsl problem as an LSP diagnostic: its range, severity, and `message\\nhint: ...`."""
    message = problem.message + (f"\nhint: {problem.hint}" if problem.hint else "")
    return types.Diagnostic(range=lsp_range(problem.span, lines), message=message,
                            severity=SEVERITY.get(problem.severity, types.DiagnosticSeverity.Error),
                            source="recdsl")


def _cursor(state: _Version, position: types.Position) -> tuple[int, int]:
    return state.lines.from_client(position.line, position.character)


def _location(uri: str, span: Span, lines: LineIndex) -> types.Location:
    return types.Location(uri=uri, range=lsp_range(span, lines))


def build_server(version: str = "") -> RecServer:
    """The server with every feature registered; `version` is what it tells the client it is."""
    server = RecServer(version)

    @server.feature(types.INITIALIZED)
    def warm_up(ls: RecServer, params: types.InitializedParams):
        analyse(WARM_UP, default_file(None))  # the grammar, the op registry and the checker load once, here

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RecServer, params: types.DidOpenTextDocumentParams):
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RecServer, params: types.DidChangeTextDocumentParams):
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: RecServer, params: types.DidSaveTextDocumentParams):
        ls.analyses.pop(params.text_document.uri, None)  # a vocabulary file beside it may have changed
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RecServer, params: types.DidCloseTextDocumentParams):
        ls.analyses.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                            diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: RecServer, params: types.HoverParams):
        state = ls.current(params.text_document.uri)
        found = state.analysis.at(*_cursor(state, params.position))
        text = hover_text(state.analysis, found) if found else None
        if text is None:
            return None
        return types.Hover(contents=_markup(_hover_formats(ls), text), range=lsp_range(found.span, state.lines))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=["(", ",", "=", "[", ":"]))
    def completion(ls: RecServer, params: types.CompletionParams):
        state = ls.current(params.text_document.uri)
        formats = _completion_formats(ls)
        items = [types.CompletionItem(label=s.label, kind=COMPLETION_KINDS[s.kind], detail=s.detail or None,
                                      documentation=_markup(formats, s.documentation) if s.documentation else None,
                                      insert_text=s.insert_text, sort_text=f"{i:04d}")
                 for i, s in enumerate(complete(state.analysis, *_cursor(state, params.position)))]
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def goto_definition(ls: RecServer, params: types.DefinitionParams):
        state = ls.current(params.text_document.uri)
        span = definition(state.analysis, *_cursor(state, params.position))
        return _location(params.text_document.uri, span, state.lines) if span else None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def find_references(ls: RecServer, params: types.ReferenceParams):
        state = ls.current(params.text_document.uri)
        spans = references(state.analysis, *_cursor(state, params.position), params.context.include_declaration)
        return [_location(params.text_document.uri, s, state.lines) for s in spans]

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare(ls: RecServer, params: types.PrepareRenameParams):
        state = ls.current(params.text_document.uri)
        try:
            return lsp_range(prepare_rename(state.analysis, *_cursor(state, params.position)), state.lines)
        except RenameRefused as refused:
            raise JsonRpcException(refused.message, REQUEST_FAILED) from None

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def do_rename(ls: RecServer, params: types.RenameParams):
        state = ls.current(params.text_document.uri)
        try:
            spans = rename(state.analysis, *_cursor(state, params.position), params.new_name)
        except RenameRefused as refused:
            raise JsonRpcException(refused.render(), REQUEST_FAILED) from None
        edits = [types.TextEdit(range=lsp_range(s, state.lines), new_text=params.new_name) for s in spans]
        return types.WorkspaceEdit(changes={params.text_document.uri: edits})

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbols(ls: RecServer, params: types.DocumentSymbolParams):
        state = ls.current(params.text_document.uri)
        return [types.DocumentSymbol(name=s.name, kind=SYMBOL_KINDS[s.kind], detail=f"{s.kind} · {s.detail}",
                                     range=lsp_range(s.span, state.lines),
                                     selection_range=lsp_range(s.name_span, state.lines))
                for s in outline(state.analysis)]

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: RecServer, params: types.DocumentFormattingParams):
        state = ls.current(params.text_document.uri)
        from recdsl.lang.formatter import format_source

        try:
            text = format_source(state.text, state.analysis.file)
        except SpecErrors:
            return None  # a spec that does not parse is left as it is; its diagnostics say why
        if text == state.text:
            return []
        end_line, end_character = state.lines.end()
        whole = types.Range(types.Position(0, 0), types.Position(end_line, end_character))
        return [types.TextEdit(range=whole, new_text=text)]

    return server


def serve(tcp: tuple[str, int] | None = None, version: str = "") -> None:
    """Run the server on stdin/stdout (or on a TCP port) until the client says exit."""
    server = build_server(version)
    if tcp is not None:
        server.start_tcp(*tcp)
    else:
        server.start_io()


__all__ = ["build_server", "serve"]
