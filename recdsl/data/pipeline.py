"""Files -> preprocessed model inputs: cached in memory when they fit, streamed through tf.data
otherwise.

Both paths read the files in chunks with pyarrow (recdsl.data.source), convert categorical
values to their table's dtype, and run the Keras preprocessing layers on whole chunks
(recdsl.data.preprocess). `Split.load` holds the result as numpy arrays (a DIN row of
MovieLens is ~500 bytes, so millions of rows fit) and `Split.training_dataset` feeds
batches from them by index (one endless tf.data stream of epochs), which never waits on
parsing. When the estimated size is over `cache_mb`, `Split.dataset` builds a streaming
tf.data pipeline instead:
generator of raw chunks -> parallel map(preprocess) -> unbatch -> shuffle buffer -> batch -> prefetch.

Length buckets (run setting `length_buckets: N`): most of a behaviour-sequence batch can be
padding (27% of MovieLens' history positions), and a sequence layer's cost grows with the
padded length. With N > 0 each training batch holds rows of similar used length and its
sequences are cut to the batch's longest, rounded up to a multiple of N (so at most
max_len / N shapes are compiled). Only padding is cut: every layer masks padded
positions, so a row's output is the same at any padded length; what changes is which
rows share a batch (in-memory data: the epoch's shuffled rows sorted by length, cut
into batches, batches in random order; streamed data: `tf.data.Dataset.group_by_window`
on the shuffle buffer's output).

Processes of one distributed run (recdsl.training.distribution): a split with `shard=(i, n)`
reads only its part of the files (recdsl.data.source.shard_of: whole files round robin when there
are at least n, else every n-th row of each), cached or streamed alike; `keep_first` cuts a
cached shard to the rows every process has.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recdsl.data import source
from recdsl.data.buffers import RowBuffers
from recdsl.data.errors import FixLog
from recdsl.data.keys import extra_of, label_key, label_of, length_key, missing_key
from recdsl.data.preprocess import Preprocessor
from recdsl.data.unseen import CHUNK_KEY, UnseenCounter
from recdsl.ops.rows import PADDING_ROW

VALUE_BYTES = 4  # one model-input value once preprocessed: an int32 row or a float32 number
LOAD_CHUNK_ROWS = 16_384  # rows read and preprocessed at a time into the cache
#: a loading chunk's working memory (the Parquet reader's buffers, raw int64 lists, the lookups'
#: tensors, what the allocators keep), in preprocessed rows' worth: measured 16-19 x
#: LOAD_CHUNK_ROWS from an RSS with freed pages returned (tests/data/test_cache_memory.py)
LOAD_WORK_ROWS = 20 * LOAD_CHUNK_ROWS


@dataclass
class Split:
    name: str
    paths: list
    pre: Preprocessor
    missing: str = "error"
    fixes: FixLog = None
    labels: bool = True
    extra_columns: tuple = ()
    rows: int = 0
    label_rate: dict = field(default_factory=dict)
    inputs: dict | None = None    # cached numpy model inputs
    targets: dict | None = None   # cached numpy labels, by output
    extras: dict | None = None    # pass-through columns (predict's id columns)
    shard: tuple = (0, 1)         # (process, processes): this process reads source.shard_of's part

    def __post_init__(self):
        self.paths = source.resolve(self.paths)
        if self.fixes is None:
            self.fixes = FixLog(self.name)

    def _chunks(self, fixes: FixLog, chunk_rows: int = source.CHUNK_ROWS):
        yield from source.read(self.paths, self.pre.schema, fixes, missing=self.missing, labels=self.labels,
                               extra_columns=self.extra_columns, shard=self.shard, chunk_rows=chunk_rows)

    def load(self) -> "Split":
        """Read, check and preprocess every file into memory, chunk by chunk, each chunk written
        into arrays sized from the files' row count (recdsl.data.buffers): one copy of the data,
        plus one chunk's working memory while it loads."""
        buffers = RowBuffers(self.row_estimate())
        for chunk in self._chunks(self.fixes, LOAD_CHUNK_ROWS):
            raw = self.pre.coerce(chunk)
            inputs = self.pre.transform_arrays(raw)
            self.pre.oov_rows(raw, inputs, self.fixes, chunk.file, chunk.first_row)
            kept = {k: v for k, v in raw.items() if label_of(k) is not None or extra_of(k) is not None}
            buffers.append({**inputs, **kept})
            del raw, inputs, kept
        joined = buffers.arrays()
        features = [c.feature for c in self.pre.schema.columns]
        self.inputs = {k: joined[k] for k in features} if joined else {}
        self.targets = {label_of(k): joined[k][:, None] for k in joined if label_of(k) is not None}
        self.extras = {extra_of(k): joined[k] for k in joined if extra_of(k) is not None}
        self.rows = buffers.rows
        self.label_rate = {k: float(v.mean()) for k, v in self.targets.items()} if self.rows else {}
        return self

    def row_bytes(self) -> int:
        """Bytes one preprocessed row takes in memory: 4 per model-input value (int32 rows,
        float32 numbers) and 4 per label."""
        values = sum(col.max_len if col.is_list else col.size for col in self.pre.schema.columns)
        return VALUE_BYTES * (values + (len(self.pre.schema.labels) if self.labels else 0))

    def estimated_mb(self) -> float:
        """Peak memory of the cached split in MiB: its rows (the files' row counts: Parquet
        metadata, CSV by bytes) x row_bytes, plus one chunk's working memory while loading
        (LOAD_WORK_ROWS rows' worth: raw values, the lookups' intermediate tensors)."""
        return (self.row_estimate() + LOAD_WORK_ROWS) * self.row_bytes() / 2 ** 20

    def row_estimate(self) -> int:
        import pyarrow.parquet as pq

        rows = 0
        files, _, row_count = source.shard_of(self.paths, *self.shard)
        for path in files:
            if source._format(path) == "parquet":
                rows += pq.ParquetFile(path).metadata.num_rows
            else:
                rows += max(1, path.stat().st_size // 100)
        return rows // row_count

    def dataset(self, batch_size: int, shuffle_buffer: int = 100_000, seed: int | None = None, repeat=False,
                length_buckets: int = 0, epoch: int | None = None):
        """A streaming tf.data pipeline of (inputs, labels) batches; the split's first whole pass
        over the files counts its rows, positive rates and fixes (`rows`, `label_rate`, `fixes`).
        length_buckets > 0 groups rows by sequence length (see the module docstring). With
        `epoch`, every pass is that epoch's order, shuffled with epoch_seed(seed, epoch) (a
        resumed run rebuilds it); without, each pass reshuffles from `seed`."""
        import tensorflow as tf

        schema = self.pre.schema
        signature = {}
        for col in schema.columns:
            dtype = {"int64": tf.int64, "string": tf.string, "float32": tf.float32}[self.pre.raw_dtype(col)]
            if col.is_list:
                signature[col.feature] = tf.TensorSpec([None, col.max_len], dtype)
                signature[length_key(col.feature)] = tf.TensorSpec([None], tf.int32)
            elif col.is_numeric:
                signature[col.feature] = tf.TensorSpec([None, col.size], tf.float32)
            else:
                signature[col.feature] = tf.TensorSpec([None], dtype)
                signature[missing_key(col.feature)] = tf.TensorSpec([None], tf.bool)
        if self.labels:
            for lab in schema.labels:
                signature[label_key(lab.output)] = tf.TensorSpec([None], tf.float32)

        signature[CHUNK_KEY] = tf.TensorSpec([], tf.int64)
        unseen, passes = UnseenCounter(self.pre, self.fixes), []

        def generate():  # the first whole pass sets rows, label_rate and fixes (each pass re-reads the files)
            fixes, rows, positives, first_pass = FixLog(self.name), 0, {}, not (passes or self.rows)
            passes.append(1)
            for chunk in self._chunks(fixes):
                raw = self.pre.coerce(chunk)
                rows += chunk.rows
                for lab in schema.labels if self.labels else ():
                    positives[lab.output] = positives.get(lab.output, 0.0) + float(raw[label_key(lab.output)].sum())
                raw[CHUNK_KEY] = unseen.chunk_number(first_pass, chunk.file, chunk.first_row)
                yield {k: raw[k] for k in signature}
            if not self.rows:  # the source's fixes first, then the unseen values counted in the map
                self.rows, self.fixes.entries = rows, {**fixes.entries, **self.fixes.entries}
                self.label_rate = {k: v / rows for k, v in positives.items()} if rows else {}

        def split(raw):
            inputs = unseen.counted(raw, self.pre.transform(raw))
            if not self.labels:
                return inputs
            return inputs, {lab.output: raw[label_key(lab.output)][:, None] for lab in schema.labels}

        self.pre.build_layers()
        ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
        ds = ds.map(split, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
        if shuffle_buffer and epoch is not None:
            ds = ds.shuffle(shuffle_buffer, seed=epoch_seed(seed, epoch), reshuffle_each_iteration=False)
        elif shuffle_buffer:
            ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        names = bucketed_inputs(schema, length_buckets)
        if not names:
            return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

        def key(inputs, *labels):
            return tf.cast(tf.maximum(_row_lengths(inputs, names) - 1, 0) // length_buckets, tf.int64)

        def cut(inputs, *labels):
            inputs = cut_to_used_length(inputs, names, length_buckets)
            return (inputs, *labels) if labels else inputs

        ds = ds.group_by_window(key, lambda _, rows: rows.batch(batch_size), window_size=batch_size)
        return ds.map(cut, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def keep_first(self, rows: int) -> "Split":
        """The cached split cut to its first `rows` rows (processes of one run train equal shards)."""
        if rows < self.rows:
            cut = {k: v[:rows] for k, v in self.inputs.items()}
            self.inputs, self.targets = cut, {k: v[:rows] for k, v in self.targets.items()}
            self.extras = {k: v[:rows] for k, v in (self.extras or {}).items()}
            self.rows = rows
        return self

    def batches_per_epoch(self, batch_size: int) -> int:
        """Batches in one epoch of the cached split (the last one may be short)."""
        return -(-self.rows // batch_size)

    def training_dataset(self, batch_size: int, length_buckets: int = 0, seed: int | None = None, skip: int = 0):
        """An endless tf.data stream of (inputs, labels) batches of the cached split, epoch
        after epoch: each run of `batches_per_epoch(batch_size)` batches holds every row once,
        in a new order drawn from `seed`. Without length buckets the batches are random; with
        them, the epoch's shuffled rows are sorted by used length (stably, so equal lengths
        stay shuffled), cut into batches and the batches shuffled, and each batch's sequences
        are cut with `cut_to_used_length`.

        The orders are drawn one epoch after another from one generator seeded with `seed`, so
        epoch e's order follows from the seed and e alone, and each iteration of the dataset
        starts again from the seed. `skip` drops that many batches at the start without reading
        them (a resumed run: epochs x batches_per_epoch + the steps done in the next epoch), and
        the stream goes on with the batches an uninterrupted one has there.

        One stream for the whole of training, so `model.fit(ds, steps_per_epoch=...)` keeps a
        single iterator: a fresh tf.data iterator per epoch (what fit does with a finite
        dataset, or with numpy arrays through Keras' adapter) sometimes stalls for a second or
        more before its first batch while the previous one is torn down. Batches are gathered
        from the cached numpy arrays as they are read, so the split is held once (not again as
        tensors)."""
        import tensorflow as tf

        names = bucketed_inputs(self.pre.schema, length_buckets)
        lengths = np.max([used_lengths(self.inputs[n]) for n in names], axis=0) if names else None
        starts = np.arange(0, self.rows, batch_size)

        def batches():
            rng, left = np.random.default_rng(seed), skip
            while self.rows:
                order = rng.permutation(self.rows)
                starts_now = rng.permutation(starts) if names else starts
                if left >= len(starts_now):  # a whole skipped epoch: only its draws are needed
                    left -= len(starts_now)
                    continue
                if names:
                    order = order[np.argsort(lengths[order], kind="stable")]
                for start in starts_now[left:]:
                    rows = order[start:start + batch_size]
                    yield ({k: v[rows] for k, v in self.inputs.items()}, {k: v[rows] for k, v in self.targets.items()})
                left = 0

        def spec(array):
            return tf.TensorSpec([None, *array.shape[1:]], tf.as_dtype(array.dtype))

        signature = ({k: spec(v) for k, v in self.inputs.items()}, {k: spec(v) for k, v in self.targets.items()})
        ds = tf.data.Dataset.from_generator(batches, output_signature=signature)  # numpy rows: no tensor copy
        if names:
            ds = ds.map(lambda x, y: (cut_to_used_length(x, names, length_buckets), y),
                        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE)


def epoch_seed(seed: int | None, epoch: int) -> int | None:
    """The shuffle seed of a streamed epoch (0-based): a function of the run's seed and the epoch."""
    if seed is None:
        return None
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0] >> 1)


def bucketed_inputs(schema, length_buckets: int) -> list[str]:
    """The list inputs `length_buckets` cuts: those longer than one bucket (none when 0)."""
    if not length_buckets:
        return []
    return [c.feature for c in schema.columns if c.is_list and c.max_len > length_buckets]


def used_lengths(ids: np.ndarray) -> np.ndarray:
    """Per row of an [n, L] index array padded at the end: the last non-padding position + 1."""
    used = ids != PADDING_ROW
    return np.where(used.any(axis=1), ids.shape[1] - np.argmax(used[:, ::-1], axis=1), 0)


def _row_lengths(inputs, names):
    """tf: the longest used length over `names`, per row ([n]) or of one row ([])."""
    import tensorflow as tf

    found = []
    for name in names:
        ids = inputs[name]
        positions = tf.range(1, tf.shape(ids)[-1] + 1)
        found.append(tf.reduce_max(tf.where(ids != PADDING_ROW, positions, 0), axis=-1))
    return tf.reduce_max(tf.stack(found), axis=0)


def cut_to_used_length(inputs: dict, names, step: int) -> dict:
    """tf: a batch with the [B, max_len] inputs `names` cut to the batch's longest used length,
    rounded up to a multiple of `step` (at least `step`, at most each input's max_len).
    Only padding is removed."""
    import tensorflow as tf

    longest = tf.reduce_max(_row_lengths(inputs, names))
    width = tf.maximum((longest + step - 1) // step, 1) * step
    out = dict(inputs)
    for name in names:
        out[name] = inputs[name][:, :tf.minimum(width, tf.shape(inputs[name])[1])]
    return out
