"""`recdsl lsp` over stdio: hover, completion, definition, references, rename, outline and
formatting on specs/din.rec (opened from its real path, so genres.txt is found beside it)."""
from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from recdsl.lang.formatter import format_source
from recdsl.lang.parser import parse
from recdsl.ops import load
from tests.lsp.conftest import ROOT, open_document, position

pytestmark = pytest.mark.asyncio(loop_scope="session")

DIN_PATH = ROOT / "specs" / "din.rec"
DIN = DIN_PATH.read_text(encoding="utf-8")


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


def spans(locations) -> list[tuple]:
    return [(x.range.start.line, x.range.start.character, x.range.end.character) for x in locations]


async def hover(client, uri, text, marker, offset=0) -> str:
    answer = await client.text_document_hover_async(types.HoverParams(doc(uri), position(text, marker, offset)))
    return answer.contents.value


async def test_hover_on_a_feature_gives_op_shape_and_parameters(client):
    uri = await open_document(client, DIN_PATH)
    text = await hover(client, uri, DIN, "item_id    : id", 2)
    # a hashed id table: (20,000 buckets + 2 reserved rows) x 16
    assert text.startswith("```rec\nfeature item_id: id -> [B, 16]\n```\n\nan embedding field `[B, 16]`, "
                           "**320,032** trainable parameters")


async def test_hover_on_a_pool_and_a_group_where_they_are_used(client):
    uri = await open_document(client, DIN_PATH)
    used = await hover(client, uri, DIN, "interest, age], layers")
    # din over keys of width 32: Dense 128->80->40->1 is 10,320 + 3,240 + 41; Dice adds one slope per unit (120)
    assert used.startswith("```rec\npool interest: din -> [B, 32]\n```\n\nan embedding field `[B, 32]`, "
                           "**13,721** trainable parameters")
    assert "inputs — query: `item_id`, `item_cate`; keys: `hist_items`, `hist_cates`" in used
    group = await hover(client, uri, DIN, "user, genres_vec")
    assert "a list of fields `[B, 3, 16]` of `user_id`, `gender`, `occupation`, **0** trainable parameters" in group


async def test_hover_on_an_op_gives_the_node_and_the_registry_entry(client):
    uri = await open_document(client, DIN_PATH)
    text = await hover(client, uri, DIN, "din(\n")
    assert text.startswith("```rec\npool interest: din -> [B, 32]\n```")
    assert "### `din` — DIN attention" in text
    assert "| `units` | int list | `[80, 40]` | hidden sizes of the attention MLP (≥ 1) |" in text
    nested = await hover(client, uri, DIN, "concat(cross")
    assert nested.startswith("```rec\nctr.concat (inline block): concat -> [B, 193]\n```")  # cross keeps its 129, deep 64
    slot = await hover(client, uri, DIN, "keys=[hist_items")
    assert slot == "```rec\ndin(keys=...)\n```\n\ninput: a sequence or multi-valued bag [B, L, d], or a list of " \
                   "them of one length"
    argument = await hover(client, uri, DIN, "activation=dice")
    assert argument.startswith("```rec\ndin(activation=...)\n```\n\none of `dice`, `prelu`, `sigmoid`, `relu`; "
                               "default `dice`")


async def complete(client, text, name) -> list[str]:
    uri = await open_document(client, f"/nowhere/{name}.rec", text)
    end = types.Position(text.count("\n"), len(text.rsplit("\n", 1)[-1]))
    answer = await client.text_document_completion_async(types.CompletionParams(doc(uri), end))
    return [item.label for item in answer.items]


async def test_completion_at_chosen_positions(client):
    assert await complete(client, DIN + "\n", "start") == ["feature", "group", "pool", "gate", "block", "output"]
    gates = sorted(name for name, op in load().items() if op.family == "gate")
    assert {"poso", "senet"} <= set(gates)
    assert await complete(client, DIN + "\ngate g = ", "op") == gates
    cross = [f"{p.name}=" for p in load()["cross"].params]
    assert cross[:3] == ["layers=", "version=", "rank="]
    assert await complete(client, DIN + "\nblock b = cross(fields, layers=2, ", "args") == cross[1:]
    assert await complete(client, DIN + "\nblock b = mlp(fields, units=[8], norm=", "enum") == ["none", "batch",
                                                                                            "layer"]


async def test_completion_items_carry_signatures_and_kinds(client):
    uri = await open_document(client, "/nowhere/details.rec", DIN + "\ngate g = ")
    answer = await client.text_document_completion_async(types.CompletionParams(
        doc(uri), types.Position(DIN.count("\n") + 1, 9)))
    senet = next(i for i in answer.items if i.label == "senet")
    assert senet.detail.startswith("senet(fields, reduction=3, granularity=field") and senet.detail.endswith(")")
    assert senet.kind == types.CompletionItemKind.Function


async def test_definition_and_references_of_a_feature(client):
    uri = await open_document(client, DIN_PATH)
    where = position(DIN, "of=item_id", 4)
    found = await client.text_document_definition_async(types.DefinitionParams(doc(uri), where))
    assert (found.uri, spans([found])) == (uri, [(9, 8, 15)])
    refs = await client.text_document_references_async(types.ReferenceParams(
        text_document=doc(uri), position=where, context=types.ReferenceContext(include_declaration=True)))
    assert spans(refs) == [(9, 8, 15), (11, 33, 40), (18, 11, 18), (24, 39, 46)]


async def test_rename_changes_the_declaration_and_every_use(client):
    uri = await open_document(client, DIN_PATH)
    where = position(DIN, "interest   = din", 3)
    ready = await client.text_document_prepare_rename_async(types.PrepareRenameParams(doc(uri), where))
    assert (ready.start.line, ready.start.character, ready.end.character) == (17, 5, 13)
    edit = await client.text_document_rename_async(types.RenameParams(doc(uri), where, "user_interest"))
    changes = edit.changes[uri]
    assert spans(changes) == [(17, 5, 13), (26, 29, 37), (28, 13, 21)]
    assert {c.new_text for c in changes} == {"user_interest"}


async def test_rename_is_refused_on_an_op_a_keyword_and_to_a_taken_name(client):
    uri = await open_document(client, DIN_PATH)
    with pytest.raises(JsonRpcException, match="`din` is an op name"):
        await client.text_document_prepare_rename_async(types.PrepareRenameParams(doc(uri), position(DIN, "din(\n")))
    with pytest.raises(JsonRpcException, match="`pool` is a keyword"):
        await client.text_document_prepare_rename_async(types.PrepareRenameParams(doc(uri), position(DIN, "pool i")))
    with pytest.raises(JsonRpcException, match=r"`age` is already defined \(line 7\)"):
        await client.text_document_rename_async(types.RenameParams(doc(uri), position(DIN, "deep  ="), "age"))


async def test_document_symbols_are_the_outline(client):
    uri = await open_document(client, DIN_PATH)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(doc(uri)))
    assert [(s.name, s.kind, s.detail) for s in symbols][-7:] == [
        ("user", types.SymbolKind.Array, "group · group [B, 3, 16]"),
        ("genres_vec", types.SymbolKind.Function, "pool · avg [B, 16]"),
        ("interest", types.SymbolKind.Function, "pool · din [B, 32]"),
        ("fields", types.SymbolKind.Operator, "gate · senet [B, 6, 16]"),
        ("cross", types.SymbolKind.Class, "block · cross [B, 129]"),
        ("deep", types.SymbolKind.Class, "block · mlp [B, 64]"),
        ("ctr", types.SymbolKind.Event, "output · sigmoid [B, 1]"),
    ]
    assert len(symbols) == 16 and symbols[0].name == "user_id"
    deep = symbols[-2]
    assert (deep.range.start.line, deep.range.end.line, deep.selection_range.start.character) == (27, 32, 6)


async def test_formatting_rewrites_the_whole_document_and_keeps_comments(client):
    messy = "# towers\nmodel m\nfeature a:id(buckets=10,dim=8)  # the id\nblock deep=mlp(a,units=[8])\n" \
            "output ctr=sigmoid(deep)\n"
    uri = await open_document(client, "/nowhere/messy.rec", messy)
    options = types.FormattingOptions(tab_size=4, insert_spaces=True)
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(doc(uri), options))
    assert len(edits) == 1 and (edits[0].range.start.line, edits[0].range.start.character) == (0, 0)
    assert (edits[0].range.end.line, edits[0].range.end.character) == (5, 0)
    assert edits[0].new_text == format_source(messy, "/nowhere/messy.rec")
    assert "# towers" in edits[0].new_text and "# the id" in edits[0].new_text
    assert parse(edits[0].new_text) == parse(messy)
    tidy = await open_document(client, "/nowhere/tidy.rec", edits[0].new_text)
    unchanged = await client.text_document_formatting_async(types.DocumentFormattingParams(doc(tidy), options))
    assert unchanged is not None and list(unchanged) == []
    broken = await open_document(client, "/nowhere/broken.rec", "model m\nfeature a : id(\n")
    assert await client.text_document_formatting_async(types.DocumentFormattingParams(doc(broken), options)) is None
