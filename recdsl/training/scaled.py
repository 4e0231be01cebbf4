"""The hooks a multi-process run adds to recdsl.training.fit (recdsl.training.distribution says
what runs where): equal training shards, the per-process batch, and the undistributed twin of
the model that the callbacks, the final scores and model.keras use.

Weights that span other processes (a row-sharded table, or any weight on a mesh over several
processes) cannot be read or saved where they are: `GatheredModel.pull` gathers every weight and
optimizer variable into the twin (a collective: every process calls it, at each epoch's end and
at the end of training). One process: every hook does nothing.

A row-sharded table whose rows do not divide by the model axis is padded in the distributed model
(recdsl.layers.embedding.FeatureEmbedding.stored_rows) and not in the twin: `pull` keeps the real
rows of it and of its optimizer slots, `push` (a resumed run: the twin restored from the backup,
then pushed) pads them with zeros.
"""
from __future__ import annotations

import dataclasses

from recdsl.training.config import RunConfig
from recdsl.training.distribution import Processes, agreed_min, data_shards, local_batch


class ScaledRun:
    """A run's processes and its hooks for fit.py."""

    def __init__(self, processes: Processes, config: RunConfig):
        self.processes, self.config = processes, config
        self.shards = data_shards(config.distribution, processes)
        self.batch = local_batch(config.batch_size, self.shards)
        self.gathered = None
        self.streamed_steps = None

    @property
    def many(self) -> bool:
        return self.processes.many

    def local_config(self, config: RunConfig) -> RunConfig:
        """The settings this process fits with: its part of the batch; no backups inside an epoch
        (they would need a gather at every step)."""
        if not self.many:
            return config
        return dataclasses.replace(config, batch_size=self.batch, backup_every_steps=0, backup_every_seconds=0)

    def equalize(self, train_split, streamed: bool) -> None:
        """Every process trains as many steps of as many rows: a cached shard is cut to the smallest
        one; a streamed one trains the smallest shard's full batches per epoch (endless, repeated)."""
        if not self.many:
            return
        if streamed:
            self.streamed_steps = max(1, agreed_min(train_split.row_estimate() // self.batch, self.processes))
        else:
            train_split.keep_first(agreed_min(train_split.rows, self.processes))

    def callbacks(self, model, build_twin, callbacks: list) -> list:
        """`callbacks`, on the twin in a multi-process run."""
        if not self.many:
            return callbacks
        self.gathered = GatheredModel(model, build_twin)
        return on_twin(self.gathered, callbacks)

    def restore(self, model, restore) -> None:
        """`restore(target)` puts a model where the backup left it: in a multi-process run the twin
        (whose shapes the backup has), then the twin's state is pushed into the distributed model."""
        if self.gathered is None:
            restore(model)
            return
        active = self.gathered.undistributed()
        try:
            restore(self.gathered.twin)
        finally:
            active()
        self.gathered.push()

    def legs(self, legs: list[dict]) -> list[dict]:
        """Streamed legs as fixed steps of full batches (a short batch would differ between processes)."""
        if not self.many or self.streamed_steps is None:
            return legs
        import tensorflow as tf

        def full(x, y):
            return tf.shape(next(iter(y.values())))[0] == self.batch

        return [dict(leg, x=leg["x"].filter(full).repeat(), steps_per_epoch=self.streamed_steps) for leg in legs]

    def final(self, model):
        """The model to score and save: the twin (no distribution active from here on)."""
        if self.gathered is None:
            return model
        import keras

        keras.distribution.set_distribution(None)
        return self.gathered.twin


def _host_value(array):
    """A variable's value as numpy on this process, gathered from the processes holding its shards."""
    import numpy as np

    if getattr(array, "is_fully_addressable", True) or getattr(array, "is_fully_replicated", False):
        return np.asarray(array)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(array, tiled=True))


def _state_variables(model) -> list:
    return list(model.variables) + (list(model.optimizer.variables) if model.optimizer is not None else [])


def _fitted(value, shape):
    """`value` cut or zero-padded along its first axis to `shape` (a padded table's rows)."""
    import numpy as np

    if value.shape == tuple(shape):
        return value
    if value.ndim == 0 or value.shape[1:] != tuple(shape[1:]):
        raise RuntimeError(f"the undistributed twin's variable of shape {tuple(shape)} differs from the model's "
                           f"{value.shape}")
    if value.shape[0] > shape[0]:
        return value[: shape[0]]
    return np.concatenate([value, np.zeros((shape[0] - value.shape[0], *value.shape[1:]), value.dtype)])


class GatheredModel:
    """An undistributed twin of a distributed model, built by `build` outside the distribution:
    `pull()` (every process, together) copies the weights and optimizer state into it."""

    def __init__(self, model, build):
        import keras

        self.model = model
        active = keras.distribution.distribution()
        keras.distribution.set_distribution(None)
        try:
            self.twin = build()
            if self.twin.optimizer is not None and not self.twin.optimizer.built:
                self.twin.optimizer.build(self.twin.trainable_variables)
        finally:
            keras.distribution.set_distribution(active)

    def undistributed(self):
        """Set no distribution; returns the function that sets the active one back."""
        import keras

        active = keras.distribution.distribution()
        keras.distribution.set_distribution(None)
        return lambda: keras.distribution.set_distribution(active)

    def _pairs(self):
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        source, target = _state_variables(self.model), _state_variables(self.twin)
        if len(source) != len(target):
            raise RuntimeError("the undistributed twin's variables differ from the model's")
        return zip(target, source)

    def pull(self):
        """Every process: the distributed model's state, gathered, into the twin (padded rows cut)."""
        for here, there in self._pairs():
            here.assign(_fitted(_host_value(there.value), here.shape))
        return self.twin

    def push(self):
        """Every process: the twin's state into the distributed model (padded rows zero)."""
        for here, there in self._pairs():
            there.assign(_fitted(_host_value(here.value), there.shape))


def on_twin(gathered: GatheredModel, callbacks: list) -> list:
    """`callbacks` run on the twin: one callback that forwards every call to them, the twin pulled
    (and no distribution active) before each epoch's end and the end of training; a stop they ask for
    stops the distributed model. Each process must run it (the pull is a collective)."""
    import keras

    class OnTwin(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            for callback in callbacks:
                callback.set_model(gathered.twin)

        def _forward(self, hook, *args, pull=False):
            active = keras.distribution.distribution()
            if pull:
                gathered.pull()
            keras.distribution.set_distribution(None)
            try:
                for callback in callbacks:
                    getattr(callback, hook)(*args)
            finally:
                keras.distribution.set_distribution(active)
            if gathered.twin.stop_training:
                self.model.stop_training = True

        def set_params(self, params):
            super().set_params(params)
            for callback in callbacks:
                callback.set_params(params)

        @property
        def final_leg(self):
            return next((c.final_leg for c in callbacks if hasattr(c, "final_leg")), None)

        @final_leg.setter
        def final_leg(self, value):
            for callback in callbacks:
                if hasattr(callback, "final_leg"):
                    callback.final_leg = value

        def on_epoch_end(self, epoch, logs=None):
            self._forward("on_epoch_end", epoch, logs, pull=True)

        def on_train_end(self, logs=None):
            self._forward("on_train_end", logs, pull=True)

        def on_train_begin(self, logs=None):
            gathered.twin.steps_per_execution = self.model.steps_per_execution  # what callbacks read
            self._forward("on_train_begin", logs)

        def on_epoch_begin(self, epoch, logs=None):
            self._forward("on_epoch_begin", epoch, logs)

        def on_train_batch_begin(self, batch, logs=None):
            self._forward("on_train_batch_begin", batch, logs)

        def on_train_batch_end(self, batch, logs=None):
            self._forward("on_train_batch_end", batch, logs)

    return [OnTwin()]
