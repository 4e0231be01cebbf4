"""The data side's stored facts: chunk keys, the row layout, and the schema fields a saved run
reloads from (kinds and table ops keep their values; the properties derive from the fields)."""
from __future__ import annotations

import recdsl
from recdsl.data import keys
from recdsl.data.schema import schema_from_json, schema_of, schema_to_json
from recdsl.ops import features, rows

SPEC = """model s
feature uid   : id(buckets=100, dim=4)
feature color : category(vocab=["red", "green"], dim=4)
feature age   : numeric(normalize=standard)
feature price : numeric(boundaries=[1.0, 2.0], dim=4)
feature hist  : sequence(of=uid, max_len=3)
feature tags  : multi(category(vocab=["a", "b"], dim=4), max_len=2)
feature ids   : multi(id(buckets=7, dim=4), max_len=2)
pool hv = avg(hist)
pool tv = avg(tags)
pool iv = avg(ids)
output y = sigmoid(mlp([uid, color, age, price, hv, tv, iv], units=[4]))
"""


def test_chunk_keys_keep_their_spelling():
    assert (keys.length_key("h"), keys.missing_key("c"), keys.label_key("y"), keys.extra_key("id")) == \
        ("h#len", "c#missing", "label:y", "extra:id")
    assert keys.label_of("label:y") == "y" and keys.label_of("extra:y") is None
    assert keys.extra_of("extra:id") == "id" and keys.extra_of("label:id") is None
    assert keys.is_bookkeeping("h#len") and keys.is_bookkeeping("c#missing") and not keys.is_bookkeeping("h")


def test_row_layout():
    assert (rows.PADDING_ROW, rows.OOV_ROW, rows.RESERVED_ROWS) == (0, 1, 2)
    assert features.RESERVED_ROWS is rows.RESERVED_ROWS


def test_stored_fields_and_derived_properties(tmp_path):
    (tmp_path / "s.rec").write_text(SPEC, encoding="utf-8")
    schema = schema_of(recdsl.typecheck(tmp_path / "s.rec"))
    saved = schema_to_json(schema)
    assert {c["feature"]: c["kind"] for c in saved["columns"]} == {
        "uid": "id", "color": "category", "age": "numeric", "price": "bucket",
        "hist": "sequence", "tags": "multi", "ids": "multi"}
    assert {name: t["op"] for name, t in saved["tables"].items()} == {
        "uid": "id", "color": "category", "tags.of": "category", "ids.of": "id"}
    for loaded in (schema, schema_from_json(saved)):
        col = loaded.column
        assert [c.feature for c in loaded.columns if c.is_list] == ["hist", "tags", "ids"]
        assert [c.feature for c in loaded.columns if c.is_numeric] == ["age", "price"]
        assert [c.feature for c in loaded.columns if c.bucketised] == ["price"]
        assert col("hist").table is col("uid").table
        assert {name for name, t in loaded.tables.items() if t.hashed} == {"uid", "ids.of"}
