"""Parquet and CSV files -> checked numpy chunks, streamed with pyarrow (never a whole file).

A chunk is a dict of numpy arrays, one entry per model input plus bookkeeping:

    FEATURE            id/category: [n] int64 or str (object); numeric: [n, size] float64
                       multi/sequence: [n, max_len] values, oldest first, padded at the end
    FEATURE#len        multi/sequence: [n] int32 number of valid positions
    FEATURE#missing    id/category: [n] bool, the value was null or empty (-> OOV row)
    label:OUTPUT       [n] float32
    extra:COLUMN       a column passed through untouched (predict's id columns)

(the keys are built by recdsl.data.keys; one column's checks are in recdsl.data.columns).

Rules (documented in the README's "Data" section):
- a missing column, a list where a single value belongs (or the reverse), text in a numeric
  column, a null or empty value inside a list (CSV `a^^b`), a non-finite number, a label out
  of range or aligned lists (schema.Aligned) of different lengths stop the run with the file,
  column and row; so does a CSV file pyarrow cannot parse (recdsl.data.csvlines finds the line);
- null/NaN numeric values and null labels stop the run too, unless the run config says
  `missing: fill` (numeric -> the training mean, i.e. 0 after normalisation, or the OOV
  bucket; rows with a null label are dropped) -- every fill and drop is counted;
- null or empty categorical values go to the OOV row (counted);
- lists longer than max_len keep their newest max_len values (the last ones; counted);
- a null list is an empty list; an integer beyond int64 (Parquet uint64) is read as its text.
"""
from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from recdsl.data import csvlines
from recdsl.data.columns import Where, label_column, list_column, numeric_column, scalar_column
from recdsl.data.errors import DataError, FixLog
from recdsl.data.keys import extra_key, label_key, length_key, missing_key
from recdsl.data.schema import Schema

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


def shard_of(paths: list, index: int, count: int) -> tuple[list, int, int]:
    """What process `index` of `count` reads of the files `paths`: (files, row index, row count).

    At least as many files as processes: file-level round robin (files index, index + count, ...,
    every row of each). Fewer files: every file, row-level, chunk by chunk as the file streams: the
    rows at positions p = first_row - 1 + (position in the chunk) with p % count == index (p is the
    file row number - 1 unless rows without a label were dropped before it). Every row is read by
    exactly one process."""
    if count <= 1:
        return list(paths), 0, 1
    if len(paths) >= count:
        return list(paths)[index::count], 0, 1
    return list(paths), index, count


class Reading:
    """The checked chunks of every file in `paths` (of `shard` = (index, count): shard_of's part
    of them), streamed when iterated; `paths` are the resolved files (so an empty result can name
    them)."""

    def __init__(self, paths, schema: Schema, fixes: FixLog, missing: str, chunk_rows: int, labels: bool,
                 extra_columns, shard=(0, 1)):
        self.paths = resolve(paths)
        self.files, self.row_index, self.row_count = shard_of(self.paths, *shard)
        self._args = (schema, fixes, missing, chunk_rows, labels, tuple(extra_columns))

    def __iter__(self) -> Iterator[Chunk]:
        for path in self.files:
            for chunk in _read_file(path, *self._args):
                yield chunk if self.row_count == 1 else _rows_of_shard(chunk, self.row_index, self.row_count)


def _rows_of_shard(chunk: Chunk, index: int, count: int) -> Chunk:
    """The rows of `chunk` at positions p (shard_of) with p % count == index."""
    keep = (np.arange(chunk.first_row - 1, chunk.first_row - 1 + len(next(iter(chunk.arrays.values()))))
            % count) == index
    return Chunk(chunk.file, chunk.first_row, int(keep.sum()), {k: v[keep] for k, v in chunk.arrays.items()})


def read(paths, schema: Schema, fixes: FixLog, *, missing: str = "error",
         chunk_rows: int = CHUNK_ROWS, labels: bool = True, extra_columns=(), shard=(0, 1)) -> Reading:
    """Checked chunks of every file in `paths` (of shard (index, count) only: shard_of).
    `labels=False` skips label columns (prediction); `extra_columns` are passed through untouched
    (ids for `predict`)."""
    return Reading(paths, schema, fixes, missing, chunk_rows, labels, extra_columns, shard)


def read_rows(rows, schema: Schema, fixes: FixLog, *, missing: str = "error", labels: bool = False,
              file: str = "<rows>") -> Chunk:
    """Rows given in Python, checked and converted as a file's are: a list of dicts (one per row)
    or a dict of columns (name -> list of values), with the columns a file would need."""
    import pyarrow as pa

    wanted = [c.column for c in schema.columns] + ([lab.column for lab in schema.labels] if labels else [])
    try:
        batch = (pa.RecordBatch.from_pydict(rows) if isinstance(rows, dict) else pa.RecordBatch.from_pylist(list(rows)))
    except (TypeError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"the rows cannot be read as a table: {_arrow_text(exc)}", file=file,
                        hint="give a list of dicts (one per row) or a dict of equal-length column lists") from None
    have = batch.schema.names
    for name in dict.fromkeys(wanted):
        if name not in have:
            from recdsl.lang.suggest import did_you_mean

            raise DataError(f"column {name!r} is missing", file=file,
                            hint=did_you_mean(name, have) or f"the rows have {', '.join(have[:12]) or 'no columns'}")
    return _convert(batch, file, 1, schema, fixes, missing, labels, ())


def column_names(path: Path) -> list[str]:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if _format(path) == "parquet":
            return list(pq.read_schema(path).names)
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16),
                                parse_options=_csv_parse(path))
        names = list(reader.schema.names)
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError with its own text
        raise _unreadable(path, exc, None, hint="is it a valid Parquet/CSV file?") from None
    if any("\x00" in name for name in names):
        raise csvlines.nul_header(path)
    return names


def _unreadable(path: Path, exc: Exception, needed: list[str] | None, hint: str = "") -> DataError:
    """pyarrow's refusal of a file as a DataError; for a CSV file with the line, row and column
    that pyarrow does not name (recdsl.data.csvlines), when they can be found."""
    if _format(path) == "csv":
        found = csvlines.locate(path, _csv_parse(path).delimiter, needed)
        if found is not None:
            return found
    return DataError(f"cannot read the file: {_arrow_text(exc)}", file=str(path), hint=hint)


def _csv_parse(path: Path):
    import pyarrow.csv as pacsv

    return pacsv.ParseOptions(delimiter="\t" if ".tsv" in [s.lower() for s in path.suffixes[-2:]] else ",")


def _arrow_text(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_file(path, schema, fixes, missing, chunk_rows, labels, extra) -> Iterator[Chunk]:
    import pyarrow as pa

    wanted = [c.column for c in schema.columns] + ([lab.column for lab in schema.labels] if labels else [])
    needed = _present(path, list(dict.fromkeys(wanted + list(extra))))
    try:
        row = 1
        for batch in _batches(path, needed, chunk_rows):
            if batch.num_rows == 0:
                continue
            yield _convert(batch, str(path), row, schema, fixes, missing, labels, extra)
            row += batch.num_rows
    except DataError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _unreadable(path, exc, needed) from None


def _present(path: Path, needed: list[str]) -> list[str]:
    """`needed`, once every one of those columns is known to be in the file."""
    have = column_names(path)
    for name in needed:
        if name not in have:
            from recdsl.lang.suggest import did_you_mean

            raise DataError(f"column {name!r} is missing", file=str(path),
                            hint=did_you_mean(name, have) or
                            f"the file has {', '.join(have[:12])}{' ...' if len(have) > 12 else ''}; "
                            "map feature names to columns with `columns:` in the run config")
    return needed


def _batches(path: Path, needed: list[str], chunk_rows: int):
    """Arrow record batches of at most `chunk_rows` rows of the `needed` columns (CSV columns as text)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if _format(path) == "parquet":
        return pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=needed)
    reader = pacsv.open_csv(
        path, read_options=pacsv.ReadOptions(block_size=8 << 20), parse_options=_csv_parse(path),
        convert_options=pacsv.ConvertOptions(include_columns=needed,
                                             column_types={n: pa.string() for n in needed}))
    return _rebatch(reader, chunk_rows)


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
    keep = np.ones(batch.num_rows, dtype=bool)

    def column(name: str):
        return batch.column(batch.schema.get_field_index(name))

    written: dict[str, np.ndarray] = {}  # list lengths before the cut, for the aligned groups
    for col in schema.columns:
        arr, where = column(col.column), Where(file, col.column, first_row)
        if col.is_list:
            out[col.feature], out[length_key(col.feature)], written[col.feature] = list_column(arr, col, where, fixes)
        elif col.is_numeric:
            out[col.feature] = numeric_column(arr, col, where, fixes, missing)
        else:
            values, absent = scalar_column(arr, where)
            out[col.feature], out[missing_key(col.feature)] = values, absent
            fixes.add(col.column, "null or empty -> OOV row", int(absent.sum()), file, where.row(absent))
    _check_aligned(schema, written, file, first_row)
    for lab in schema.labels if labels else ():
        out[label_key(lab.output)], unlabelled = label_column(
            column(lab.column), lab, Where(file, lab.column, first_row), fixes, missing)
        keep &= ~unlabelled
    for name in extra:
        out[extra_key(name)] = column(name).to_numpy(zero_copy_only=False)
    if not keep.all():
        out = {k: v[keep] for k, v in out.items()}
    return Chunk(file, first_row, int(keep.sum()), out)


def _check_aligned(schema: Schema, lengths: dict, file: str, first_row: int) -> None:
    """Lists of one aligned group must have as many values in every row (compared as written,
    before the newest max_len are kept, so equal lists stay paired after the cut)."""
    for group in schema.aligned:
        first, *others = group.features
        for other in others:
            differ = lengths[other] != lengths[first]
            if differ.any():
                i = int(np.flatnonzero(differ)[0])
                a, b = schema.column(first), schema.column(other)
                raise Where(file, b.column, first_row).error(
                    f"{lengths[other][i]:,} values, but {a.column!r} has {lengths[first][i]:,} in this row; "
                    f"{first} and {other} are read position by position together ({group.reason})", differ,
                    hint=f"aligned lists need one value per position in every row (the i-th of {other} "
                         f"belongs to the i-th of {first}): fix the row, or feed them to separate pools")
