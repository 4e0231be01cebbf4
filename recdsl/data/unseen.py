"""Values a streamed split sends to the OOV row, counted as the cached path counts them
(Preprocessor.oov_rows: a row whose value, or any valid position of whose list, was unseen in
training or cut by max_tokens; a missing value is counted apart, by the source).

The ids are made inside tf.data's parallel map, so each chunk's counts are taken there, in the
graph, and handed to Python with one `tf.py_function` call per chunk: per column, the rows hit
and the first of them. Only the split's first pass counts (chunks numbered from 0; later passes
pass -1), and each fix keeps the earliest row, whatever order the parallel map runs chunks in.
"""
from __future__ import annotations

from recdsl.data.errors import FixLog
from recdsl.data.keys import missing_key
from recdsl.ops.rows import OOV_ROW

#: the generator's extra entry: the chunk's number in the first pass, -1 in later passes
CHUNK_KEY = "#chunk"


class UnseenCounter:
    def __init__(self, pre, fixes: FixLog):
        self.pre, self.fixes = pre, fixes
        self.columns = [c for c in pre.schema.columns if not (c.is_numeric or c.table.hashed)]
        self.where: list[tuple[str, int]] = []   # chunk number -> (file, first row)
        self._first: dict = {}                   # fix key -> (chunk, row) of its earliest hit

    def chunk_number(self, first_pass: bool, file: str, first_row: int) -> int:
        """The number to pass with a chunk read now (-1: not counted)."""
        if not first_pass:
            return -1
        self.where.append((file, first_row))
        return len(self.where) - 1

    def counted(self, raw: dict, inputs: dict) -> dict:
        """tf: `inputs` once the chunk's counts are recorded (call inside the map function)."""
        import tensorflow as tf

        if not self.columns:
            return inputs
        counts, firsts = [], []
        for col in self.columns:
            oov = tf.equal(inputs[col.feature], OOV_ROW)
            hit = tf.reduce_any(oov, axis=1) if col.is_list else oov & ~raw[missing_key(col.feature)]
            counts.append(tf.reduce_sum(tf.cast(hit, tf.int64)))
            firsts.append(tf.argmax(tf.cast(hit, tf.int64), output_type=tf.int64))
        done = tf.py_function(self._record, [raw[CHUNK_KEY], tf.stack(counts), tf.stack(firsts)], tf.int64)
        with tf.control_dependencies([done]):
            return {k: tf.identity(v) for k, v in inputs.items()}

    def _record(self, chunk, counts, firsts):
        chunk = int(chunk.numpy())
        if chunk < 0:
            return 0
        file, first_row = self.where[chunk]
        for col, count, first in zip(self.columns, counts.numpy().tolist(), firsts.numpy().tolist()):
            if not count:
                continue
            reason = self.pre.oov_reason(col, self.fixes.split)
            self.fixes.add(col.column, reason, count, file, first_row + first)
            key = (self.fixes.split, col.column, reason)
            if (chunk, first) < self._first.setdefault(key, (chunk, first)):
                self._first[key] = (chunk, first)
                self.fixes.entries[key].first = f"{file} row {first_row + first:,}"
        return 0
