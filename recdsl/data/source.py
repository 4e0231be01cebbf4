"""Parquet and CSV files -> checked numpy chunks, streamed with pyarrow (never a whole file).

A chunk is a dict of numpy arrays, one entry per model input plus bookkeeping:

    FEATURE            id/category: [n] int64 or str (object); numeric: [n, size] float64
                       multi/sequence: [n, max_len] values, oldest first, padded at the end
    FEATURE#len        multi/sequence: [n] int32 number of valid positions
    FEATURE#missing    id/category: [n] bool, the value was null or empty (-> OOV row)
    label:OUTPUT       [n] float32

Rules (documented in the README's "Data" section):
- a missing column, a list where a single value belongs (or the reverse), text in a numeric
  column, a null or empty value inside a list (CSV `a^^b`), a non-finite number or a label out
  of range stop the run with the file, column and row;
- null/NaN numeric values and null labels stop the run too, unless the run config says
  `missing: fill` (numeric -> the training mean, i.e. 0 after normalisation, or the OOV
  bucket; rows with a null label are dropped) -- every fill and drop is counted;
- null or empty categorical values go to the OOV row (counted);
- lists longer than max_len keep their newest max_len values (the last ones; counted).
"""
from __future__ import annotations

import glob
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from recdsl.data.errors import DataError, FixLog
from recdsl.data.schema import Column, Schema

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv"}
CHUNK_ROWS = 65_536


@dataclass
class Chunk:
    file: str
    first_row: int          # 1-based row number of the chunk's first row in its file
    rows: int
    arrays: dict


def resolve(paths) -> list[Path]:
    """Files named by paths, directories (their .parquet/.csv files) or glob patterns, sorted."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for raw in paths:
        text = str(raw)
        if any(ch in text for ch in "*?["):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True))
            if not found:
                raise DataError(f"no file matches {text!r}", hint="check the pattern and the working directory")
            out.extend(p for p in found if p.is_file())
            continue
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and _format(p, strict=False))
            if not found:
                raise DataError(f"directory {text!r} holds no .parquet or .csv file")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise DataError(f"data file {text!r} not found", hint="pass a .parquet or .csv file, a directory or a glob")
    for p in out:
        _format(p)
    return out


def _format(path: Path, strict: bool = True) -> str | None:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes[-1:] == [".gz"]:  # only .csv.gz / .tsv.gz: a gzipped CSV
        fmt = "csv" if suffixes[:1] in ([".csv"], [".tsv"]) else None
    else:
        fmt = FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None and strict:
        raise DataError(f"{path}: unknown data format {path.suffix!r}",
                        hint="recdsl reads .parquet and .csv (optionally .csv.gz) files")
    return fmt


def read(paths, schema: Schema, fixes: FixLog, *, missing: str = "error",
         chunk_rows: int = CHUNK_ROWS, labels: bool = True, extra_columns=()) -> Iterator[Chunk]:
    """Stream checked chunks of every file in `paths`. `labels=False` skips label columns
    (prediction); `extra_columns` are passed through untouched (ids for `predict`)."""
    for path in resolve(paths):
        yield from _read_file(path, schema, fixes, missing, chunk_rows, labels, tuple(extra_columns))


def column_names(path: Path) -> list[str]:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if _format(path) == "parquet":
            return list(pq.read_schema(path).names)
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16),
                                parse_options=_csv_parse(path))
        return list(reader.schema.names)
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError with its own text
        raise DataError(f"cannot read the file: {_arrow_text(exc)}", file=str(path),
                        hint="is it a valid Parquet/CSV file?") from None


def _csv_parse(path: Path):
    import pyarrow.csv as pacsv

    return pacsv.ParseOptions(delimiter="\t" if ".tsv" in [s.lower() for s in path.suffixes[-2:]] else ",")


def _arrow_text(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_file(path, schema, fixes, missing, chunk_rows, labels, extra) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    have = column_names(path)
    wanted = [c.column for c in schema.columns] + ([lab.column for lab in schema.labels] if labels else [])
    wanted += list(extra)
    for name in dict.fromkeys(wanted):
        if name not in have:
            from recdsl.lang.suggest import did_you_mean

            raise DataError(f"column {name!r} is missing", file=str(path),
                            hint=did_you_mean(name, have) or
                            f"the file has {', '.join(have[:12])}{' ...' if len(have) > 12 else ''}; "
                            "map feature names to columns with `columns:` in the run config")
    needed = list(dict.fromkeys(wanted))
    try:
        if _format(path) == "parquet":
            batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=needed)
        else:
            reader = pacsv.open_csv(
                path, read_options=pacsv.ReadOptions(block_size=8 << 20), parse_options=_csv_parse(path),
                convert_options=pacsv.ConvertOptions(include_columns=needed,
                                                     column_types={n: pa.string() for n in needed}))
            batches = _rebatch(reader, chunk_rows)
        row = 1
        for batch in batches:
            if batch.num_rows == 0:
                continue
            yield _convert(batch, str(path), row, schema, fixes, missing, labels, extra)
            row += batch.num_rows
    except DataError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"cannot read the file: {_arrow_text(exc)}", file=str(path)) from None


def _rebatch(reader, rows: int):
    import pyarrow as pa

    pending, count = [], 0
    for batch in reader:
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            table = pa.Table.from_batches(pending).combine_chunks()
            yield from table.to_batches(max_chunksize=rows)
            pending, count = [], 0
    if pending:
        yield from pa.Table.from_batches(pending).combine_chunks().to_batches(max_chunksize=rows)


# --- one Arrow batch -> numpy ------------------------------------------------------------

def _convert(batch, file, first_row, schema: Schema, fixes: FixLog, missing, labels, extra) -> Chunk:
    out: dict = {}
    n = batch.num_rows
    keep = np.ones(n, dtype=bool)
    for col in schema.columns:
        arr = batch.column(batch.schema.get_field_index(col.column))
        where = _Where(file, col.column, first_row)
        if col.is_list:
            values, lengths = _list_column(arr, col, where, fixes)
            out[col.feature], out[f"{col.feature}#len"] = values, lengths
        elif col.is_numeric:
            out[col.feature] = _numeric_column(arr, col, where, fixes, missing)
        else:
            values, absent = _scalar_column(arr, where)
            out[col.feature], out[f"{col.feature}#missing"] = values, absent
            fixes.add(col.column, "null or empty -> OOV row", int(absent.sum()), file, where.row(absent))
    if labels:
        for lab in schema.labels:
            arr = batch.column(batch.schema.get_field_index(lab.column))
            where = _Where(file, lab.column, first_row)
            y = _floats(arr, where)
            bad = np.isnan(y)
            if bad.any():
                if missing != "fill":
                    raise DataError("the label is missing (null/NaN)", file=file, column=lab.column,
                                    row=where.row(bad), hint="fix the data, or set `missing: fill` in the run "
                                    "config to drop rows without a label (they are counted in the report)")
                keep &= ~bad
                fixes.add(lab.column, "null label -> row dropped", int(bad.sum()), file, where.row(bad))
            _finite(y, where, ~bad)
            if lab.loss == "binary":
                wrong = ~bad & ((y < 0) | (y > 1))
                if wrong.any():
                    raise DataError(f"label {y[wrong][0]:g} is not in [0, 1]", file=file, column=lab.column,
                                    row=where.row(wrong), hint="a sigmoid output needs 0/1 labels (or "
                                    "probabilities); make a 0/1 column, e.g. rating >= 4")
            out[f"label:{lab.output}"] = y.astype("float32")
    for name in extra:
        out[f"extra:{name}"] = batch.column(batch.schema.get_field_index(name)).to_numpy(zero_copy_only=False)
    if not keep.all():
        out = {k: v[keep] for k, v in out.items()}
    return Chunk(file, first_row, int(keep.sum()), out)


@dataclass
class _Where:
    file: str
    column: str
    first_row: int

    def row(self, mask) -> int | None:
        hits = np.flatnonzero(mask)
        return int(hits[0]) + self.first_row if hits.size else None

    def error(self, message: str, mask=None, hint: str = "", row: int | None = None) -> DataError:
        return DataError(message, file=self.file, column=self.column,
                         row=row if row is not None else (self.row(mask) if mask is not None else None), hint=hint)


def _is_list(arr) -> bool:
    import pyarrow as pa

    return pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type)


def _scalar_column(arr, where: _Where):
    """Categorical values as int64 or str, and which rows are null/empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _is_list(arr):
        raise where.error("holds lists, but the feature takes one value per row",
                          hint="declare it as multi(...) or sequence(...) in the spec")
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_integer(arr.type) or pa.types.is_boolean(arr.type):
        absent = arr.is_null().to_numpy(zero_copy_only=False)
        return arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), absent
    if pa.types.is_floating(arr.type):
        values = arr.to_numpy(zero_copy_only=False).astype("float64")
        absent = np.isnan(values)
        fractional = ~absent & ((values != np.round(values)) | ~np.isfinite(values))
        if fractional.any():
            raise where.error(f"holds the number {float(values[fractional][0])!r}; a categorical column holds "
                              "integers or text", fractional, hint="declare it numeric(...) if it is a quantity")
        return np.where(absent, 0, values).astype("int64"), absent
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        absent = pc.fill_null(pc.equal(arr, ""), True).to_numpy(zero_copy_only=False)
        return arr.fill_null("").to_numpy(zero_copy_only=False), absent
    raise where.error(f"has type {arr.type}, not integers or text")


def _list_column(arr, col: Column, where: _Where, fixes: FixLog):
    """[n, max_len] values (oldest first, the newest max_len kept) and [n] lengths."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        arr = pc.split_pattern(arr.fill_null(""), col.sep)
        # an empty cell is an empty list, not [""]
        empty = pc.equal(pc.list_value_length(arr), 1) if len(arr) else None
        if empty is not None:
            first = pc.list_element(arr, 0)
            arr = pc.if_else(pc.and_(empty, pc.equal(first, "")), pa.scalar([], arr.type), arr)
    elif not _is_list(arr):
        raise where.error(f"holds single {arr.type} values, but {col.feature} is a {col.kind}",
                          hint=f"write lists (Parquet list columns, or CSV cells joined by {col.sep!r})")
    lengths = pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype("int64")
    flat = pc.list_flatten(arr)
    if pa.types.is_dictionary(flat.type):
        flat = flat.dictionary_decode()
    if flat.null_count:
        bad_pos = int(np.flatnonzero(flat.is_null().to_numpy(zero_copy_only=False))[0])
        row = int(np.searchsorted(np.cumsum(lengths), bad_pos, side="right"))
        raise where.error("a list holds a null value", row=row + where.first_row,
                          hint="drop nulls from the lists before training")
    if pa.types.is_string(flat.type) or pa.types.is_large_string(flat.type):
        values, pad = flat.to_numpy(zero_copy_only=False), ""
        empty = values == ""
        if empty.any():  # a CSV cell like "a^^b" or "a^b^": the CSV form of a null in a list
            row = int(np.searchsorted(np.cumsum(lengths), int(np.flatnonzero(empty)[0]), side="right"))
            raise where.error("a list holds an empty value", row=row + where.first_row,
                              hint=f"drop empty values from the lists (in a CSV cell, a doubled or trailing "
                                   f"{col.sep!r} makes one)")
    elif pa.types.is_integer(flat.type):
        values, pad = flat.cast(pa.int64()).to_numpy(zero_copy_only=False), 0
    elif pa.types.is_floating(flat.type):
        values = flat.to_numpy(zero_copy_only=False)
        bad = (values != np.round(values)) | ~np.isfinite(values)
        if bad.any():
            row = int(np.searchsorted(np.cumsum(lengths), int(np.flatnonzero(bad)[0]), side="right"))
            raise where.error(f"a list holds the number {float(values[bad][0])!r}; categorical lists hold integers "
                              "or text", row=row + where.first_row)
        values, pad = values.astype("int64"), 0
    else:
        raise where.error(f"holds lists of {flat.type}, not integers or text")
    padded, kept = pad_newest(values, lengths, col.max_len, pad)
    over = lengths > col.max_len
    fixes.add(where.column, f"longer than {col.max_len} -> newest {col.max_len} kept", int(over.sum()),
              where.file, where.row(over))
    return padded, kept


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


def _floats(arr, where: _Where) -> np.ndarray:
    """A numeric column as float64 (NaN where null); text that is not a number is an error."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _is_list(arr):
        raise where.error("holds lists, but the column takes one number per row")
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        # surrounding spaces are allowed (" 1.5"), as Python's float() allows them
        arr = pc.utf8_trim_whitespace(arr)
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
        try:
            arr = pc.cast(arr, pa.float64())
        except pa.ArrowInvalid:
            # the first value Arrow's parser rejects (Python's float() accepts more, e.g. "1_000")
            for i, text in enumerate(arr.to_pylist()):
                if text is None:
                    continue
                try:
                    pc.cast(pa.array([text]), pa.float64())
                except pa.ArrowInvalid:
                    raise where.error(f"non-numeric text {text!r} in a numeric column", row=where.first_row + i,
                                      hint="clean the column, or declare the feature category(...)") from None
            raise
    elif pa.types.is_boolean(arr.type) or pa.types.is_integer(arr.type) or pa.types.is_decimal(arr.type):
        arr = arr.cast(pa.float64())
    elif not pa.types.is_floating(arr.type):
        raise where.error(f"has type {arr.type}, not numbers")
    return arr.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False).astype("float64")


def _finite(values: np.ndarray, where: _Where, valid=None) -> None:
    inf = np.isinf(values) if valid is None else (np.isinf(values) & valid)
    if inf.any():
        raise where.error(f"{values[inf][0]} is not a finite number", inf,
                          hint="infinite values usually come from a division by zero upstream; fix or clip them")


def _numeric_column(arr, col: Column, where: _Where, fixes: FixLog, missing: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.size > 1 or _is_list(arr):
        if not _is_list(arr):
            if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
                arr = pc.split_pattern(arr.fill_null(""), col.sep)
            else:
                raise where.error(f"holds single values, but {col.feature} has size={col.size}")
        lengths = pc.list_value_length(arr).fill_null(-1).to_numpy(zero_copy_only=False)
        wrong = lengths != col.size
        if wrong.any():
            raise where.error(f"a row holds {lengths[wrong][0] if lengths[wrong][0] >= 0 else 'no'} values, "
                              f"but {col.feature} has size={col.size}", wrong)
        values = _floats(pc.list_flatten(arr), where).reshape(-1, col.size)
    else:
        values = _floats(arr, where).reshape(-1, 1)
    _finite(values, where)
    nan = np.isnan(values).any(axis=1)
    if nan.any():
        if missing != "fill":
            raise where.error("missing value (null/NaN) in a numeric feature", nan,
                              hint="fix the data, or set `missing: fill` in the run config to use the training "
                                   "mean (or the OOV bucket); fills are counted in the report")
        fixes.add(col.column, "missing -> training mean" if col.kind == "numeric" else "missing -> OOV bucket",
                  int(nan.sum()), where.file, where.row(nan))
    return values
