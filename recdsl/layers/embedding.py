"""Embedding tables for categorical features and the numeric feature encoder."""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from recdsl.ops.rows import PADDING_ROW

#: Tables with at most this many rows compute the L2 penalty over their rows (O(rows * dim) per
#: call, a dense gradient on the table: cheaper than per-position work for the small tables of a
#: long sequence); larger tables per looked-up position (only the used rows get a gradient).
ROW_PENALTY_LIMIT = 65_536


@keras.saving.register_keras_serializable(package="recdsl")
class FeatureEmbedding(keras.layers.Layer):
    """Embedding table E [rows, dim]: int indices [B] -> [B, d], or [B, L] -> [B, L, d]; a list
    of index tensors (the features sharing the table) -> the list of their vectors.

    Row 0 is padding and row 1 out-of-vocabulary. One instance may be called on
    several inputs of either rank (a sequence sharing an id feature's table).

    With l2 > 0 each call adds DIN's mini-batch-aware regulariser (Zhou et al., "Deep
    Interest Network for Click-Through Rate Prediction", KDD 2018, section 4.3.1)

        l2 * sum_j alpha_j ||E_j||^2 / n_j

    alpha_j = 1 when some index of the call is j (j != 0), else 0: each row the batch uses
    once, however often and by however many of the listed inputs it is looked up (the
    emitter calls a shared table once with all its features, so a row in both the target
    and the history counts once); n_j is the non-trainable `row_frequency`, the row's
    occurrences in the training data (set by `recdsl train` from preprocessing; ones
    otherwise; positive). Its gradient 2 l2 alpha_j E_j / n_j is the paper's update
    lambda alpha_mj w_j / n_j with lambda = 2 * l2: `l2=` is the paper's lambda / 2.
    Tables of up to ROW_PENALTY_LIMIT rows sum it over their rows with a used-row
    indicator; larger ones per looked-up position as ||E_j||^2 / (n_j * c_j), c_j the count
    of j in the call, so only the used rows get a gradient.

    Built under a keras distribution whose layout splits the table's rows over S devices (model
    parallel, recdsl.training.distribution), E holds `stored_rows` = ceil(rows / S) * S rows: the
    rows that make it divide, zeros after the real ones, are never looked up (indices < rows)
    and get no gradient. Saving writes the real rows alone, and loading takes either length, so
    a model.keras is the same whether its table was padded or not. Anywhere else E is [rows, dim].

    The rows start from U(-0.05, 0.05) (Keras' Embedding default), or from N(0, init_std^2) when
    `init_std` is given (DeepCTR's `init_std`, 1e-4 there).
    """

    def __init__(self, rows, dim, l2=0.0, init_std=None, **kwargs):
        super().__init__(**kwargs)
        self.rows, self.dim, self.l2, self.init_std = rows, dim, l2, init_std
        self.stored_rows = rows

    def build(self, input_shape=None):
        self.stored_rows = padded_rows(f"{self.path}/embeddings", self.rows, self.dim)
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.stored_rows, self.dim),
            initializer=PaddedRows(keras.initializers.RandomUniform(-0.05, 0.05) if self.init_std is None
                                   else keras.initializers.RandomNormal(0.0, self.init_std), self.rows))
        self.row_frequency = self.add_weight(
            name="row_frequency", shape=(self.rows,), initializer="ones", trainable=False)

    def save_own_variables(self, store):
        """The real rows of the table (a padded one's first `rows`), then row_frequency."""
        table = self.embeddings if self.stored_rows == self.rows else \
            ops.convert_to_numpy(self.embeddings.value)[: self.rows]
        store["0"], store["1"] = table, self.row_frequency

    def load_own_variables(self, store):
        """A table of `rows` or of `stored_rows` rows (cut or padded with zeros to this one's)."""
        self._check_load_own_variables(store)
        table = np.asarray(store["0"])
        if table.shape[0] != self.stored_rows:
            table = np.concatenate([table[: self.rows], np.zeros((self.stored_rows - min(len(table), self.rows),
                                                                  self.dim), table.dtype)])
        self.embeddings.assign(table)
        self.row_frequency.assign(store["1"])

    def call(self, inputs):
        several = isinstance(inputs, (list, tuple))
        indices = [ops.cast(x, "int32") for x in (inputs if several else [inputs])]
        vectors = [ops.take(self.embeddings, index, axis=0) for index in indices]
        if self.l2 > 0:
            flat = ops.concatenate([ops.reshape(index, (-1,)) for index in indices], axis=0)
            rows = ops.concatenate([ops.reshape(v, (-1, self.dim)) for v in vectors], axis=0)
            self.add_loss(self._penalty(flat, rows))
        out = [ops.cast(v, self.compute_dtype) for v in vectors]
        return out if several else out[0]

    def _penalty(self, flat, vectors):
        """The penalty of the rows `flat` [n] looks up (vectors [n, d] their rows)."""
        # segment_sum with a static num_segments stays jittable on JAX, where bincount is not.
        ones = ops.ones_like(flat, dtype="float32")
        in_batch = ops.segment_sum(ones, flat, num_segments=self.rows)
        freq = ops.cast(self.row_frequency, "float32")
        if self.rows <= ROW_PENALTY_LIMIT:
            used = ops.logical_and(in_batch > 0, ops.arange(self.rows) != PADDING_ROW)
            table = self.embeddings if self.stored_rows == self.rows else self.embeddings[: self.rows]
            norms = ops.sum(ops.square(ops.cast(table, "float32")), axis=-1)
            return self.l2 * ops.sum(ops.where(used, norms / freq, 0.0))
        share = ops.take(in_batch, flat) * ops.take(freq, flat)
        norms = ops.sum(ops.square(ops.cast(vectors, "float32")), axis=-1)
        used = ops.cast(ops.not_equal(flat, PADDING_ROW), "float32")
        return self.l2 * ops.sum(used * norms / share)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            return [tuple(shape) + (self.dim,) for shape in input_shape]
        return tuple(input_shape) + (self.dim,)

    def get_config(self):
        return {**super().get_config(), "rows": self.rows, "dim": self.dim, "l2": self.l2, "init_std": self.init_std}


class _Probe:
    """What a keras Distribution reads of a variable to find its layout: its path and shape."""

    def __init__(self, path, shape):
        self.path, self.shape = path, shape


def padded_rows(path: str, rows: int, dim: int) -> int:
    """`rows` rounded up to a multiple of the devices the active keras distribution splits the rows of
    the variable `path` over (its layout's first axis); `rows` when none splits them."""
    distribution = keras.distribution.distribution()
    if distribution is None:
        return rows
    layout = distribution.get_variable_layout(_Probe(path, (rows, dim)))
    axes = layout.axes[0] if layout is not None else None
    if axes is None:
        return rows
    mesh = layout.device_mesh
    names = list(mesh.axis_names)
    parts = math.prod(mesh.shape[names.index(a)] for a in ((axes,) if isinstance(axes, str) else axes))
    return -(-rows // parts) * parts


class PaddedRows(keras.initializers.Initializer):
    """`initializer`'s values for the first `rows` rows (drawn as for an unpadded [rows, ...] table), then zeros."""

    def __init__(self, initializer, rows):
        self.initializer, self.rows = initializer, rows

    def __call__(self, shape, dtype=None):
        real = self.initializer((self.rows, *shape[1:]), dtype=dtype)
        if shape[0] == self.rows:
            return real
        return ops.concatenate([real, ops.zeros((shape[0] - self.rows, *shape[1:]), dtype=real.dtype)], axis=0)


NUMERIC_MODES = ("dense", "project", "bucket")


@keras.saving.register_keras_serializable(package="recdsl")
class NumericFeature(keras.layers.Layer):
    """A numeric feature after preprocessing (normalised or bucketised upstream).

    mode="dense":   x [B, size] -> x [B, size] (a [B] input becomes [B, 1])
    mode="project": x [B, size] -> x W [B, dim], W [size, dim], no bias
    mode="bucket":  bucket index [B] -> E[index] [B, dim], E [rows, dim]

    The projection is the numeric-field embedding of AutoInt (Song et al., CIKM 2019).
    """

    def __init__(self, mode, size=1, dim=None, rows=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in NUMERIC_MODES:
            raise ValueError(f"NumericFeature mode must be one of {NUMERIC_MODES}, got {mode!r}")
        if mode != "dense" and dim is None:
            raise ValueError(f"NumericFeature mode={mode!r} needs dim")
        if mode == "bucket" and rows is None:
            raise ValueError("NumericFeature mode='bucket' needs rows")
        self.mode, self.size, self.dim, self.rows = mode, size, dim, rows

    def build(self, input_shape=None):
        if self.mode == "project":
            self.kernel = self.add_weight(name="kernel", shape=(self.size, self.dim),
                                          initializer="glorot_uniform")
        elif self.mode == "bucket":
            self.embeddings = self.add_weight(
                name="embeddings", shape=(self.rows, self.dim),
                initializer=keras.initializers.RandomUniform(-0.05, 0.05))

    def call(self, inputs):
        if self.mode == "bucket":
            vectors = ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)
            return ops.cast(vectors, self.compute_dtype)
        x = ops.cast(inputs, self.compute_dtype)
        if len(x.shape) == 1:
            x = ops.expand_dims(x, -1)
        return x if self.mode == "dense" else ops.matmul(x, ops.cast(self.kernel, x.dtype))

    def compute_output_shape(self, input_shape):
        if self.mode == "bucket":
            return tuple(input_shape) + (self.dim,)
        batch = tuple(input_shape)[:1]
        return batch + ((self.size,) if self.mode == "dense" else (self.dim,))

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "size": self.size,
                "dim": self.dim, "rows": self.rows}
