"""One Arrow column of a batch -> checked numpy values, by the rules in recdsl.data.source.

Each function reads one column (categorical values, a list, numbers, a label), raises a
DataError naming the file, column and row for data it cannot take, and counts every value it
fills or drops in the FixLog.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recdsl.data.errors import DataError, FixLog
from recdsl.data.schema import Column, Label
from recdsl.ops.heads import head_of


@dataclass
class Where:
    """A column of one chunk: the file, the column and the file row of the chunk's first row."""

    file: str
    column: str
    first_row: int

    def row(self, mask) -> int | None:
        hits = np.flatnonzero(mask)
        return int(hits[0]) + self.first_row if hits.size else None

    def error(self, message: str, mask=None, hint: str = "", row: int | None = None) -> DataError:
        return DataError(message, file=self.file, column=self.column,
                         row=row if row is not None else (self.row(mask) if mask is not None else None), hint=hint)


def is_list(arr) -> bool:
    import pyarrow as pa

    return pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type)


def _is_text(arr_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arr_type) or pa.types.is_large_string(arr_type)


def scalar_column(arr, where: Where):
    """Categorical values as int64 or str, and which rows are null/empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if is_list(arr):
        raise where.error("holds lists, but the feature takes one value per row",
                          hint="declare it as multi(...) or sequence(...) in the spec")
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):  # a column of nulls only (pyarrow's type for it): all missing
        return np.zeros(len(arr), dtype="int64"), np.ones(len(arr), dtype=bool)
    if pa.types.is_integer(arr.type) or pa.types.is_boolean(arr.type):
        absent = arr.is_null().to_numpy(zero_copy_only=False)
        if beyond_int64(arr):
            return pc.cast(arr, pa.string()).fill_null("").to_numpy(zero_copy_only=False), absent
        return arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), absent
    if pa.types.is_floating(arr.type):
        values = arr.to_numpy(zero_copy_only=False).astype("float64")
        absent = np.isnan(values)
        fractional = ~absent & not_integer_codes(values)
        if fractional.any():
            raise where.error(f"holds the number {float(values[fractional][0])!r}; a categorical column holds "
                              "integers (within 64 bits) or text", fractional,
                              hint="declare it numeric(...) if it is a quantity; write large ids as integers or text")
        return np.where(absent, 0, values).astype("int64"), absent
    if _is_text(arr.type):
        absent = pc.fill_null(pc.equal(arr, ""), True).to_numpy(zero_copy_only=False)
        return arr.fill_null("").to_numpy(zero_copy_only=False), absent
    raise where.error(f"has type {arr.type}, not integers or text")


INT64_MAX = 2 ** 63 - 1


def beyond_int64(arr) -> bool:
    """An unsigned 64-bit column holding a value int64 cannot (read as its decimal text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return arr.type == pa.uint64() and len(arr) > 0 and (pc.max(arr).as_py() or 0) > INT64_MAX


def not_integer_codes(values: np.ndarray) -> np.ndarray:
    """Float values that are no integer code: fractional, infinite or beyond int64."""
    with np.errstate(invalid="ignore"):
        return (values != np.round(values)) | ~np.isfinite(values) | (np.abs(values) >= 2.0 ** 63)


def list_column(arr, col: Column, where: Where, fixes: FixLog):
    """[n, max_len] values (oldest first, the newest max_len kept), [n] kept lengths and [n] lengths
    as written (before the cut: what aligned lists are compared by). A null list is an empty one,
as an empty CSV cell is (not counted: both are how files write an empty history)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _is_text(arr.type):
        arr = pc.split_pattern(arr.fill_null(""), col.sep)
        # an empty cell is an empty list, not [""]
        empty = pc.equal(pc.list_value_length(arr), 1) if len(arr) else None
        if empty is not None:
            first = pc.list_element(arr, 0)
            arr = pc.if_else(pc.and_(empty, pc.equal(first, "")), pa.scalar([], arr.type), arr)
    elif not is_list(arr):
        raise where.error(f"holds single {arr.type} values, but {col.feature} is a {col.kind}",
                          hint=f"write lists (Parquet list columns, or CSV cells joined by {col.sep!r})")
    lengths = pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype("int64")
    flat = pc.list_flatten(arr)
    if pa.types.is_dictionary(flat.type):
        flat = flat.dictionary_decode()
    values, pad = _list_values(flat, lengths, col, where)
    padded, kept = pad_newest(values, lengths, col.max_len, pad)
    over = lengths > col.max_len
    fixes.add(where.column, f"longer than {col.max_len} -> newest {col.max_len} kept", int(over.sum()),
              where.file, where.row(over))
    return padded, kept, lengths


def _list_values(flat, lengths: np.ndarray, col: Column, where: Where):
    """The flattened values of a list column as int64 or str, and the value lists are padded with."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def row_of(position: int) -> int:
        return int(np.searchsorted(np.cumsum(lengths), position, side="right")) + where.first_row

    if pa.types.is_null(flat.type):  # lists pyarrow typed from nulls only: empty, or all null
        flat = flat.cast(pa.int64())
    if flat.null_count:
        bad_pos = int(np.flatnonzero(flat.is_null().to_numpy(zero_copy_only=False))[0])
        raise where.error("a list holds a null value", row=row_of(bad_pos),
                          hint="drop nulls from the lists before training")
    if _is_text(flat.type):
        values = flat.to_numpy(zero_copy_only=False)
        empty = values == ""
        if empty.any():  # a CSV cell like "a^^b" or "a^b^": the CSV form of a null in a list
            raise where.error("a list holds an empty value", row=row_of(int(np.flatnonzero(empty)[0])),
                              hint=f"drop empty values from the lists (in a CSV cell, a doubled or trailing "
                                   f"{col.sep!r} makes one)")
        return values, ""
    if pa.types.is_integer(flat.type) or pa.types.is_boolean(flat.type):
        if beyond_int64(flat):
            return pc.cast(flat, pa.string()).to_numpy(zero_copy_only=False), ""
        return flat.cast(pa.int64()).to_numpy(zero_copy_only=False), 0
    if pa.types.is_floating(flat.type):
        values = flat.to_numpy(zero_copy_only=False)
        bad = not_integer_codes(values)
        if bad.any():
            raise where.error(f"a list holds the number {float(values[bad][0])!r}; categorical lists hold integers "
                              "or text", row=row_of(int(np.flatnonzero(bad)[0])))
        return values.astype("int64"), 0
    raise where.error(f"holds lists of {flat.type}, not integers or text")


def pad_newest(flat: np.ndarray, lengths: np.ndarray, max_len: int, pad):
    """Ragged rows (flat values + lengths) -> [n, max_len] keeping each row's last max_len values,
    left-aligned (oldest kept value first), padded with `pad` at the end; and the kept lengths."""
    n = lengths.shape[0]
    starts = np.cumsum(lengths) - lengths
    kept = np.minimum(lengths, max_len)
    out = np.full((n, max_len), pad, dtype=flat.dtype if flat.dtype != object else object)
    total = int(kept.sum())
    if total:
        rows = np.repeat(np.arange(n), kept)
        pos = np.arange(total) - np.repeat(np.cumsum(kept) - kept, kept)
        src = np.repeat(starts + lengths - kept, kept) + pos
        out[rows, pos] = flat[src]
    return out, kept.astype("int32")


def floats(arr, where: Where) -> np.ndarray:
    """A numeric column as float64 (NaN where null); text that is not a number is an error."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if is_list(arr):
        raise where.error("holds lists, but the column takes one number per row")
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):  # a column of nulls only
        arr = arr.cast(pa.float64())
    if _is_text(arr.type):
        # surrounding spaces are allowed (" 1.5"), as Python's float() allows them
        arr = pc.utf8_trim_whitespace(arr)
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
        try:
            arr = pc.cast(arr, pa.float64())
        except pa.ArrowInvalid:
            _raise_first_non_number(arr, where)
            raise
    elif pa.types.is_boolean(arr.type) or pa.types.is_integer(arr.type) or pa.types.is_decimal(arr.type):
        arr = arr.cast(pa.float64())
    elif not pa.types.is_floating(arr.type):
        raise where.error(f"has type {arr.type}, not numbers")
    return arr.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False).astype("float64")


def _raise_first_non_number(arr, where: Where) -> None:
    """Raise on the first value Arrow's parser rejects (Python's float() accepts more, e.g. "1_000")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, text in enumerate(arr.to_pylist()):
        if text is None:
            continue
        try:
            pc.cast(pa.array([text]), pa.float64())
        except pa.ArrowInvalid:
            raise where.error(f"non-numeric text {text!r} in a numeric column", row=where.first_row + i,
                              hint="clean the column, or declare the feature category(...)") from None


def finite(values: np.ndarray, where: Where, valid=None) -> None:
    inf = np.isinf(values) if valid is None else (np.isinf(values) & valid)
    if inf.any():
        raise where.error(f"{values[inf][0]} is not a finite number", inf,
                          hint="infinite values usually come from a division by zero upstream; fix or clip them")


def numeric_column(arr, col: Column, where: Where, fixes: FixLog, missing: str) -> np.ndarray:
    """[n, size] float64 values; NaN where missing (allowed only with `missing: fill`, counted)."""
    import pyarrow.compute as pc

    if col.size > 1 or is_list(arr):
        if not is_list(arr):
            if _is_text(arr.type):
                arr = pc.split_pattern(arr.fill_null(""), col.sep)
            else:
                raise where.error(f"holds single values, but {col.feature} has size={col.size}")
        lengths = pc.list_value_length(arr).fill_null(-1).to_numpy(zero_copy_only=False)
        wrong = lengths != col.size
        if wrong.any():
            raise where.error(f"a row holds {lengths[wrong][0] if lengths[wrong][0] >= 0 else 'no'} values, "
                              f"but {col.feature} has size={col.size}", wrong)
        values = floats(pc.list_flatten(arr), where).reshape(-1, col.size)
    else:
        values = floats(arr, where).reshape(-1, 1)
    finite(values, where)
    nan = np.isnan(values).any(axis=1)
    if nan.any():
        if missing != "fill":
            raise where.error("missing value (null/NaN) in a numeric feature", nan,
                              hint="fix the data, or set `missing: fill` in the run config to use the training "
                                   "mean (or the OOV bucket); fills are counted in the report")
        fixes.add(col.column, "missing -> OOV bucket" if col.bucketised else "missing -> training mean",
                  int(nan.sum()), where.file, where.row(nan))
    return values


def label_column(arr, lab: Label, where: Where, fixes: FixLog, missing: str):
    """[n] float32 labels, and which rows have none (dropped: allowed only with `missing: fill`)."""
    y = floats(arr, where)
    bad = np.isnan(y)
    if bad.any():
        if missing != "fill":
            raise where.error("the label is missing (null/NaN)", bad,
                              hint="fix the data, or set `missing: fill` in the run config to drop rows "
                                   "without a label (they are counted in the report)")
        fixes.add(lab.column, "null label -> row dropped", int(bad.sum()), where.file, where.row(bad))
    finite(y, where, ~bad)
    head = head_of(lab.loss)
    if head.label_range is not None:
        low, high = head.label_range
        wrong = ~bad & ((y < low) | (y > high))
        if wrong.any():
            raise where.error(f"label {y[wrong][0]:g} is not in [{low:g}, {high:g}]", wrong, hint=head.label_hint)
    return y.astype("float32"), bad
