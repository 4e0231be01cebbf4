"""One table's Keras layer: `Hashing` for an id table, `StringLookup` / `IntegerLookup` for a
vocabulary (recdsl.data.preprocess uses them), and the shift that puts its outputs on the
table's rows (recdsl.ops.rows: 0 padding, 1 OOV, values from 2).

A lookup has one out-of-vocabulary token, and Keras treats a vocabulary entry equal to it as
that token (StringLookup drops a leading "[UNK]", sending the value to the OOV row and every
later value a row down). So each table's token is chosen outside its vocabulary; it is saved in
preprocessing.json only when it is not Keras' usual one, which keeps the file of every other
vocabulary as it was, and a run saved before (no token) keeps the rows it was trained with.
"""
from __future__ import annotations

import numpy as np

from recdsl.data.schema import Table
from recdsl.ops.rows import OOV_ROW, RESERVED_ROWS

INT_OOV_TOKEN = -(2 ** 62)  # IntegerLookup's usual OOV token (no code or id of real data)
KERAS_OOV = {"string": "[UNK]", "int64": INT_OOV_TOKEN}  # the lookups' tokens unless a table says otherwise
OOV_KEY = "oov_token"  # a table's entry in preprocessing.json: its token, when not KERAS_OOV's
LOOKUP_SHIFT = OOV_ROW  # a lookup's OOV index 0 -> OOV_ROW, its vocabulary 1.. -> RESERVED_ROWS..


def oov_token(dtype: str, vocabulary) -> str | int:
    """The lookup's OOV token for a vocabulary: Keras' usual one unless the vocabulary holds it
    (StringLookup drops a leading "[UNK]" as its own token, sending that value to the OOV row
    and every later one a row down), then the first of "[[UNK]]", "[[[UNK]]]" ... (or of the
    integers below INT_OOV_TOKEN) that it does not hold. Only the vocabulary matters: a data
    value equal to the token is unseen anyway."""
    values = set(vocabulary)
    token = KERAS_OOV[dtype]
    while token in values:
        token = f"[{token}]" if dtype == "string" else token - 1
    return token


def table_layer(table: Table, entry: dict):
    """The Keras layer of a table and the shift that puts its outputs on the table's rows.
    mask_token stays None (no value is a mask) and the OOV token is the table's (OOV_KEY in
    its entry; a run saved before that key used Keras' own, kept for its rows)."""
    import keras

    if table.hashed:
        return keras.layers.Hashing(num_bins=table.buckets), RESERVED_ROWS
    token = entry.get(OOV_KEY, KERAS_OOV[entry["dtype"]])
    if table.vocab is not None:
        return keras.layers.StringLookup(vocabulary=list(table.vocab), num_oov_indices=1, mask_token=None,
                                         oov_token=token), LOOKUP_SHIFT
    if table.size is not None:
        return keras.layers.IntegerLookup(vocabulary=np.arange(table.size, dtype="int64"), num_oov_indices=1,
                                          mask_token=None, oov_token=token), LOOKUP_SHIFT
    vocab = entry["vocabulary"]
    if entry["dtype"] == "string":
        return keras.layers.StringLookup(vocabulary=[str(v) for v in vocab], num_oov_indices=1, mask_token=None,
                                         oov_token=token), LOOKUP_SHIFT
    return keras.layers.IntegerLookup(vocabulary=np.asarray(vocab, dtype="int64"), num_oov_indices=1,
                                      mask_token=None, oov_token=token), LOOKUP_SHIFT
