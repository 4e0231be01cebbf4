"""Keras before fitting: seed and precision, the distribution strategy, whether to use XLA, and
the compile call (optimizer, each output head's loss, weight and live metrics).

Several GPUs: under the TensorFlow backend the model is built in a
tf.distribute.MirroredStrategy scope when more than one GPU is visible (one machine);
with TF_CONFIG set (several machines) in a MultiWorkerMirroredStrategy scope. Under JAX with
several devices, Keras' keras.distribution.DataParallel over all of them (unless a distribution
is set already); recdsl.training.scoring pads what it scores to a multiple of the devices, and
fit trims each training batch to one.
"""
from __future__ import annotations

import contextlib
import os

from recdsl.ops.heads import head_of
from recdsl.training.config import OPTIMIZERS, RunConfig

#: On CPU, XLA is used only when every embedding table is at most this many parameters: XLA
#: turns the sparse gradient of a lookup into a dense update of the whole table, which costs
#: more than the fusion saves once tables are large (bench/throughput.py, docs/performance.md).
XLA_CPU_TABLE_LIMIT = 500_000


def keras_setup(config: RunConfig):
    """Keras, seeded and with the run's dtype policy."""
    import keras

    keras.utils.set_random_seed(config.seed)
    keras.config.set_dtype_policy(config.precision)
    return keras


def _strategy(keras):
    """TensorFlow backend: MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster,
    MirroredStrategy when one machine has several GPUs, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return None


def _jax_data_parallel(keras) -> None:
    """Under JAX with several devices and no distribution set: data parallel over all of them."""
    if keras.backend.backend() != "jax" or keras.distribution.distribution() is not None:
        return
    if len(keras.distribution.list_devices()) > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel())


def build_model(spec, labels, config: RunConfig, keras):
    """The spec's model, compiled, in the distribution strategy's scope."""
    from recdsl.emitter import emit

    strategy = _strategy(keras)
    _jax_data_parallel(keras)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = emit(spec)
        compile_model(model, labels, config, keras, use_xla(config.jit_compile, keras, spec))
    return model


def use_xla(setting: str, keras, spec=None) -> bool:
    """jit_compile: on/off as given; auto = on under JAX or with a GPU; on CPU under TensorFlow
    on when the spec's embedding tables are small (XLA_CPU_TABLE_LIMIT); off under torch."""
    if setting in ("on", "off"):
        return setting == "on"
    backend = keras.backend.backend()
    if backend == "jax":
        return True
    if backend != "tensorflow":
        return False
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return True
    tables = [n.params for n in (spec.nodes if spec is not None else ()) if n.kind == "feature"]
    return spec is not None and max(tables, default=0) <= XLA_CPU_TABLE_LIMIT


def compile_model(model, labels, config: RunConfig, keras, jit: bool) -> None:
    """Compile with the run's optimizer and, per output, its head's loss and live metrics and
    the label's loss weight."""
    optimizer = getattr(keras.optimizers, OPTIMIZERS[config.optimizer])(learning_rate=config.learning_rate)
    losses, weights, metrics = {}, {}, {}
    for lab in labels:
        head = head_of(lab.loss)
        losses[lab.output] = getattr(keras.losses, head.loss)()
        metrics[lab.output] = [getattr(keras.metrics, kind)(name=name) for kind, name in head.live_metrics]
        weights[lab.output] = lab.weight
    model.compile(optimizer=optimizer, loss=losses, loss_weights=weights, metrics=metrics,
                  jit_compile=jit, steps_per_execution=config.steps_per_execution)
