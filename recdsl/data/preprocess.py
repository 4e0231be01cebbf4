"""Raw feature values -> model inputs, with Keras preprocessing layers.

    id(buckets=N)              Hashing(N)                     -> rows 2 .. N+1
    category(vocab=/file)      StringLookup(vocabulary)       -> rows 2 .. V+1, unseen -> 1
    category(size=K)           IntegerLookup(0 .. K-1)        -> rows 2 .. K+1, out of range -> 1
    category(max_tokens=M)     String/IntegerLookup, vocabulary learned from training data
                               (the M most frequent values; ties by value)   -> rows 2 .., unseen -> 1
                               counted in bounded memory (recdsl.data.frequent): exact while the
                               distinct values fit in 10 x M counters (at least 100,000)
    numeric(boundaries=b)      Discretization(b)              -> rows 2 .. len(b)+2, missing -> 1
    numeric(normalize=...)     standard: Normalization(mean, variance); minmax: (x-min)/(max-min);
                               log: log1p(max(x, 0)); none: x.  Missing -> the training mean.
Row 0 is padding (positions past a list's length), row 1 is out-of-vocabulary/missing
(recdsl.ops.rows); every listed or learned value has its own row (recdsl.data.lookups).
Features that share a table (sequence(of=item_id)) share one layer and one vocabulary.

`fit` learns vocabularies and statistics in one streamed pass over the training data; the
result is saved as JSON (`preprocessing.json` in a run) and rebuilt with `load`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recdsl.data.errors import DataError, FixLog
from recdsl.data.frequent import FrequentValues, capacity_for, merged, most_frequent
from recdsl.data.keys import is_bookkeeping, length_key, missing_key
from recdsl.data.lookups import INT_OOV_TOKEN, KERAS_OOV, OOV_KEY, oov_token, table_layer
from recdsl.data.row_counts import ROW_COUNTS, RowCounter
from recdsl.data.schema import Column, Schema, Table
from recdsl.ops.rows import OOV_ROW, PADDING_ROW, RESERVED_ROWS

FORMAT_VERSION = 1
NUMERIC_STATS = "numeric"  # preprocessing.json's key for the numeric features' statistics


@dataclass
class Preprocessor:
    schema: Schema
    tables: dict = field(default_factory=dict)    # table name -> {"dtype": "int64"|"string", "vocabulary": [...]}
    numerics: dict = field(default_factory=dict)  # feature -> {"mean": [...], "variance": [...], "min": [...], "max": [...]}
    row_counts: dict = field(default_factory=dict)  # table -> {"rows", "counts"}: DIN's n_j (recdsl.data.row_counts)
    _layers: dict = field(default_factory=dict, repr=False)
    _fn: object = field(default=None, repr=False)

    # --- fitting ----------------------------------------------------------------------------

    @classmethod
    def fit(cls, chunks, schema: Schema) -> "Preprocessor":
        """One pass over training chunks (recdsl.data.source.read, whose `paths` an empty
        result names): vocabularies, statistics and each table's row counts."""
        summaries: dict[str, dict] = {name: {} for name, t in schema.tables.items() if t.learned}
        counter = RowCounter(schema)
        kinds: dict[str, set] = {name: set() for name in schema.tables}
        moments: dict[str, list] = {}
        rows = 0
        for chunk in chunks:
            rows += chunk.rows
            for col in schema.columns:
                x = chunk.arrays[col.feature]
                if col.is_numeric:
                    _accumulate(moments.setdefault(col.feature, [0, 0.0, 0.0, np.inf, -np.inf]), x)
                    continue
                kind = "string" if x.dtype == object else "int64"
                kinds[col.table.name].add(kind)
                valid = counter.add(chunk.arrays, col)
                if col.table.learned:
                    summary = summaries[col.table.name].setdefault(
                        kind, FrequentValues(capacity_for(col.table.max_tokens)))
                    summary.add(valid if kind == "string" else valid.astype("int64", copy=False))
        if rows == 0:
            files = [str(f) for f in getattr(chunks, "paths", [])]
            raise DataError(f"the training data has no rows{': ' + ', '.join(files) if len(files) > 1 else ''}",
                            file=files[0] if len(files) == 1 else None,
                            hint="the file holds a header (or a schema) and no data rows" if len(files) == 1
                            else "every file holds a header (or a schema) and no data rows")
        pre = cls(schema)
        for name, table in schema.tables.items():
            dtype = _table_dtype(table, kinds[name])
            entry = {"dtype": dtype}
            if table.learned:
                summaries[name] = summary = merged(list(summaries[name].values()), dtype == "string",
                                                   capacity_for(table.max_tokens))
                if summary.values is None:
                    cols = ", ".join(c.column for c in schema.table_columns(name))
                    raise DataError(f"no values to learn a vocabulary from in column(s) {cols}",
                                    hint="every value is null or empty in the training data")
                entry["vocabulary"] = most_frequent(summary, table.max_tokens)
                entry["seen"] = summary.seen  # a lower bound when undercount is set
                if summary.undercount:
                    entry["undercount"] = summary.undercount
            if not table.hashed:
                vocabulary = table.vocab if table.vocab is not None else entry.get("vocabulary", ())
                token = oov_token(dtype, vocabulary)
                if token != KERAS_OOV[dtype]:
                    entry[OOV_KEY] = token
            pre.tables[name] = entry
        for col in schema.columns:
            if col.is_numeric and not col.bucketised:
                n, s, ss, lo, hi = moments[col.feature]
                count = np.maximum(n, 1)
                mean = s / count
                var = np.maximum(ss / count - mean * mean, 0.0)
                pre.numerics[col.feature] = {"mean": _floats(mean, col.size), "variance": _floats(var, col.size),
                                             "min": _floats(lo, col.size), "max": _floats(hi, col.size),
                                             "count": int(np.min(n))}
        pre.row_counts = counter.rows(pre, summaries)
        return pre

    # --- persistence ------------------------------------------------------------------------

    def to_json(self) -> dict:
        from recdsl.data.schema import schema_to_json

        return {"format": FORMAT_VERSION, "tables": self.tables, NUMERIC_STATS: self.numerics,
                "schema": schema_to_json(self.schema), ROW_COUNTS: self.row_counts}

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path) -> "Preprocessor":
        """A saved preprocessor, with the schema it was fitted for (no spec needed)."""
        from recdsl.data.schema import schema_from_json

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read preprocessing {str(path)!r}: {exc}") from None
        if data.get("format") != FORMAT_VERSION:
            raise DataError(f"{path}: preprocessing format {data.get('format')!r} is not supported "
                            f"(this recdsl writes {FORMAT_VERSION})")
        return cls(schema_from_json(data["schema"]), data["tables"], data[NUMERIC_STATS],
                   data.get(ROW_COUNTS, {}))  # a run saved before row counts: n_j = 1

    # --- transforming -----------------------------------------------------------------------

    def raw_dtype(self, col: Column) -> str:
        """The dtype raw values of a column are fed in: int64, string (categorical) or float32."""
        return "float32" if col.is_numeric else self.tables[col.table.name]["dtype"]

    def coerce(self, chunk) -> dict:
        """A source chunk's arrays with categorical values converted to their table's dtype."""
        out = dict(chunk.arrays)
        for col in self.schema.columns:
            if col.is_numeric:
                out[col.feature] = out[col.feature].astype("float32")
                continue
            x, want = out[col.feature], self.raw_dtype(col)
            if want == "string" and x.dtype != object:
                out[col.feature] = x.astype(str).astype(object)
            elif want == "int64" and x.dtype == object:
                out[col.feature] = _parse_ints(x, chunk, col, self.tables[col.table.name].get(OOV_KEY, INT_OOV_TOKEN))
        return out

    def layer(self, table_name: str):
        if table_name not in self._layers:
            self._layers[table_name] = table_layer(self.schema.tables[table_name], self.tables[table_name])
        return self._layers[table_name]

    def build_layers(self) -> dict:
        """Create every Keras preprocessing layer now, outside any traced function (a lookup
        table made while tracing would belong to that graph)."""
        for col in self.schema.columns:
            if col.bucketised:
                self._discretize(col)
            elif col.is_numeric and col.normalize == "standard":
                self._normalization(col)
            elif not col.is_numeric:
                self.layer(col.table.name)
        return self._layers

    def transform(self, raw: dict) -> dict:
        """TensorFlow ops from raw tensors (the arrays of `coerce`) to the model's inputs.
        Runs inside tf.data and in the exported serving function; call `build_layers` first."""
        import tensorflow as tf

        out = {}
        for col in self.schema.columns:
            x = raw[col.feature]
            if col.bucketised:
                x = tf.cast(tf.reshape(x, [-1]), tf.float32)
                ids = tf.cast(self._discretize(col)(x), tf.int32) + RESERVED_ROWS
                out[col.feature] = tf.where(tf.math.is_nan(x), OOV_ROW, ids)
                continue
            if col.is_numeric:
                out[col.feature] = self._numeric(col, tf.cast(x, tf.float32))
                continue
            layer, shift = self.layer(col.table.name)
            ids = tf.cast(layer(x), tf.int32) + shift
            if col.is_list:
                positions = tf.range(col.max_len, dtype=tf.int32)[None, :]
                lengths = tf.cast(raw[length_key(col.feature)], tf.int32)[:, None]
                ids = tf.where(positions < lengths, ids, PADDING_ROW)
            elif missing_key(col.feature) in raw:
                ids = tf.where(raw[missing_key(col.feature)], OOV_ROW, ids)
            out[col.feature] = ids
        return out

    def _numeric(self, col: Column, x):
        import tensorflow as tf

        stats = self.numerics[col.feature]
        mean = tf.constant(stats["mean"], tf.float32)
        x = tf.where(tf.math.is_nan(x), tf.broadcast_to(mean, tf.shape(x)), x)
        if col.normalize == "standard":
            return tf.cast(self._normalization(col)(x), tf.float32)
        if col.normalize == "minmax":
            lo, hi = np.asarray(stats["min"]), np.asarray(stats["max"])
            span = np.where(hi > lo, hi - lo, 1.0)
            return (x - tf.constant(lo, tf.float32)) / tf.constant(span, tf.float32)
        if col.normalize == "log":
            return tf.math.log1p(tf.maximum(x, 0.0))
        return x

    def _normalization(self, col: Column):
        key = f"{col.feature}#norm"
        if key not in self._layers:
            import keras

            stats = self.numerics[col.feature]
            layer = keras.layers.Normalization(mean=stats["mean"], variance=stats["variance"])
            layer.build((None, col.size))  # its constants must not be made inside a traced function
            self._layers[key] = layer
        return self._layers[key]

    def _discretize(self, col: Column):
        key = f"{col.feature}#bins"
        if key not in self._layers:
            import keras

            self._layers[key] = keras.layers.Discretization(bin_boundaries=list(col.boundaries))
        return self._layers[key]

    def transform_arrays(self, arrays: dict) -> dict:
        """`transform` on numpy arrays (one chunk), returning numpy model inputs."""
        import tensorflow as tf

        if self._fn is None:
            self.build_layers()
            self._fn = tf.function(self.transform, reduce_retracing=True)
        names = [c.feature for c in self.schema.columns]
        names += [k for k in arrays if is_bookkeeping(k)]
        feed = {k: tf.constant(arrays[k]) for k in names}
        return {k: v.numpy() for k, v in self._fn(feed).items()}

    def oov_rows(self, arrays: dict, inputs: dict, fixes: FixLog, file: str, first_row: int) -> None:
        """Count rows whose values were unseen (mapped to the OOV row) but not missing. A learned
        vocabulary cut by max_tokens (it saw more values than it keeps) maps the values beyond
        the cut there too: in the training split, whose every value was seen, that is all of them."""
        for col in self.schema.columns:
            if col.is_numeric or col.table.hashed:
                continue
            ids = inputs[col.feature]
            oov = ids == OOV_ROW
            hit = oov.any(axis=1) if col.is_list else oov & ~arrays[missing_key(col.feature)]
            if hit.any():
                fixes.add(col.column, self.oov_reason(col, fixes.split), int(hit.sum()), file,
                          int(np.flatnonzero(hit)[0]) + first_row)

    def oov_reason(self, col: Column, split: str) -> str:
        entry = self.tables.get(col.table.name, {})
        if entry.get("seen", 0) <= len(entry.get("vocabulary", ())):
            return "unseen value -> OOV row"
        cut = f"beyond max_tokens={col.table.max_tokens}"
        return f"{cut} -> OOV row" if split == "train" else f"unseen in training or {cut} -> OOV row"

    def vocabulary_sizes(self) -> dict:
        return {name: len(t["vocabulary"]) for name, t in self.tables.items() if "vocabulary" in t}


def _table_dtype(table: Table, kinds: set) -> str:
    if table.vocab is not None:
        return "string"
    if table.size is not None:
        return "int64"
    return "int64" if kinds == {"int64"} else "string"


def _accumulate(acc: list, x: np.ndarray) -> None:
    valid = ~np.isnan(x)
    xz = np.where(valid, x, 0.0)
    acc[0] = acc[0] + valid.sum(axis=0)
    acc[1] = acc[1] + xz.sum(axis=0)
    acc[2] = acc[2] + (xz * xz).sum(axis=0)
    acc[3] = np.minimum(acc[3], np.where(valid, x, np.inf).min(axis=0))
    acc[4] = np.maximum(acc[4], np.where(valid, x, -np.inf).max(axis=0))


def _floats(value, size: int) -> list[float]:
    arr = np.broadcast_to(np.asarray(value, dtype="float64"), (size,))
    return [float(v) if np.isfinite(v) else 0.0 for v in arr]


def _parse_ints(x: np.ndarray, chunk, col: Column, unseen: int) -> np.ndarray:
    """Text to int64 for an integer-coded table; an unparsable value is an error naming its row.
    An integer beyond int64 (20 digits) is no value of a vocabulary: `unseen` (-> the OOV row,
    counted as unseen); a hashed table fitted on int64 cannot hash it: an error."""
    flat = x.reshape(-1)
    out = np.empty(flat.shape[0], dtype="int64")
    for i, v in enumerate(flat):
        try:
            n = int(v) if v != "" else 0
        except ValueError:
            raise _parse_error(x, i, chunk, col, f"text {v!r} where integer codes are expected",
                               f"{col.feature}'s table was learned from integer values; "
                               "this file holds text in that column") from None
        if -2 ** 63 <= n < 2 ** 63:
            out[i] = n
        elif col.table.hashed:
            raise _parse_error(x, i, chunk, col, f"the id {v} does not fit in 64 bits",
                               f"{col.feature}'s hashed table was fitted on 64-bit integers; ids this long "
                               "must be text in the training data too (a string column), or kept below 2**63")
        else:
            out[i] = unseen
    return out.reshape(x.shape)


def _parse_error(x: np.ndarray, i: int, chunk, col: Column, message: str, hint: str) -> DataError:
    row = i // x.shape[1] if x.ndim == 2 else i
    return DataError(message, file=chunk.file, column=col.column, row=chunk.first_row + row, hint=hint)
