"""The row layout every embedding table shares.

    row 0                PADDING_ROW: positions past a list's length; never trained, masked out
    row 1                OOV_ROW: a value outside the vocabulary, or a missing (null/empty) one
    rows 2 .. n + 1      the table's n known values (hash buckets, vocabulary entries, buckets)

So a table for n known values has n + RESERVED_ROWS rows. The data side maps raw values to
these rows (recdsl.data.preprocess), the checker counts them (recdsl.ops.features) and the
embedding layer and padding mask read them (recdsl.layers).
"""
from __future__ import annotations

PADDING_ROW = 0
OOV_ROW = 1
RESERVED_ROWS = 2
