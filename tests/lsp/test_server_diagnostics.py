"""`recdsl lsp` over stdio: diagnostics on open and on change, with exact ranges (0-based, UTF-16)
and messages, for malformed specs; none for any bundled spec."""
from __future__ import annotations

import pytest
from lsprotocol import types

from recdsl.ops import load
from tests.lsp.conftest import BUNDLED, open_document

pytestmark = pytest.mark.asyncio(loop_scope="session")

HEAD = "model m\nfeature item_id : id(buckets=100, dim=8)\n"
TAIL = "output ctr = sigmoid(deep)\n"
OPS = load()  # argument lists in hints come from the registry, which grows
E, W = types.DiagnosticSeverity.Error, types.DiagnosticSeverity.Warning


def seen(client, uri) -> list[tuple]:
    return [((d.range.start.line, d.range.start.character), (d.range.end.line, d.range.end.character),
             d.severity, d.message) for d in client.diagnostics[uri]]


MALFORMED = {
    "unknown_name": (HEAD + "block deep = mlp(item, units=[8])\n" + TAIL, [
        ((1, 8), (1, 15), W, "feature `item_id` is never used\nhint: remove it or feed it to a block"),
        ((2, 17), (2, 21), E, "undefined name `item`\nhint: did you mean `item_id`?"),
    ]),
    "bad_argument": (HEAD + "block deep = mlp(item_id, units=[8], dropuot=0.1)\n" + TAIL, [
        ((2, 37), (2, 44), E, "mlp has no argument `dropuot`\nhint: did you mean `dropout`? "
                              f"mlp takes: {', '.join(OPS['mlp'].slots)}"),
    ]),
    "bad_value": (HEAD + "block deep = mlp(item_id, units=[8], activation=rleu)\n" + TAIL, [
        ((2, 48), (2, 52), E, f"`activation` must be one of {', '.join(OPS['mlp'].param('activation').choices)}, "
                              "got `rleu`\nhint: did you mean `relu`?"),
    ]),
    "shape": (HEAD + "pool p = avg(item_id)\nblock deep = mlp(p, units=[8])\n" + TAIL, [
        ((2, 13), (2, 20), E, "`item_id` is an embedding field [B, 8]; avg needs a sequence or bag [B, L, d]\n"
                              "hint: pass a sequence(...) or multi(...) feature, or a sequence block"),
    ]),
    "two_statements": ("model m\nfeature item_id : id(buckets=100, dim=8\nfeature cate : category(size=10, dim=8)\n"
                       "block deep = mlp([cate, price], units=[8])\n" + TAIL, [
        ((1, 39), (1, 39), E, "the statement ends too early\nhint: close the call with ')'"),
        ((3, 24), (3, 29), E, "undefined name `price`\nhint: declare it with feature/group/pool/gate/block"),
    ]),
    "utf16_columns": ('model m\nfeature g : category(vocab=["😀", "é"], dim=8, bogus=1)\n'
                      "block deep = mlp(g, units=[8])\n" + TAIL, [
        ((1, 47), (1, 52), E, "category has no argument `bogus`\n"
                              f"hint: category takes: {', '.join(OPS['category'].slots)}"),
    ]),
    "no_output": (HEAD + "block deep = mlp(item_id, units=[8])\n", [
        ((0, 0), (0, 7), E, "model `m` has no output\nhint: add one, e.g. `output ctr = sigmoid(deep)`"),
        ((2, 6), (2, 10), W, "block `deep` is never used\nhint: remove it or feed it to a block"),
    ]),
}


@pytest.mark.parametrize("name", MALFORMED)
async def test_a_malformed_spec_gets_its_diagnostics(client, name):
    text, expected = MALFORMED[name]
    uri = await open_document(client, f"/nowhere/{name}.rec", text)
    assert seen(client, uri) == expected
    assert all(d.source == "recdsl" for d in client.diagnostics[uri])


async def test_diagnostics_follow_each_change_of_the_whole_text(client):
    text, _ = MALFORMED["unknown_name"]
    uri = await open_document(client, "/nowhere/changing.rec", text)
    assert len(client.diagnostics[uri]) == 2
    fix = types.TextDocumentContentChangeWholeDocument(text.replace("mlp(item,", "mlp(item_id,"))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=2), [fix]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_no_diagnostic_on_a_bundled_spec(client, path):
    uri = await open_document(client, path)
    assert list(client.diagnostics[uri]) == []


async def test_a_form_feed_or_line_separator_does_not_shift_the_lines(client):
    text = 'model m  # \f page\nfeature g : category(vocab=["a\u2028b"], dim=8)\nblock deep = mlp(gg, units=[8])\n' + TAIL
    uri = await open_document(client, "/nowhere/separators.rec", text)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        [types.TextDocumentContentChangeWholeDocument(text.replace("units=[8]", "units=[16]"))]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert seen(client, uri) == [
        ((1, 8), (1, 9), W, "feature `g` is never used\nhint: remove it or feed it to a block"),
        ((2, 17), (2, 19), E, "undefined name `gg`\nhint: did you mean `g`?"),
    ]
