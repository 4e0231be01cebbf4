"""Keras before fitting: seed and precision, the distribution, whether to use XLA, and the
compile call (optimizer, each output head's loss, weight and live metrics).

Distribution (run setting `distribution`, recdsl.training.distribution): under JAX the keras
Distribution of `distribution_of` (data or model parallel over every device of every process;
auto: data parallel when there are several devices) unless one is set already;
recdsl.training.scoring pads what it scores to a multiple of the batch shards, and fit trims
each training batch to one. Under TensorFlow one process only: a tf.distribute.MirroredStrategy
scope when several GPUs are visible (auto); TF_CONFIG, processes and data/model are refused with
the JAX command (Keras 3's fit does not train with MultiWorkerMirroredStrategy).
"""
from __future__ import annotations

import contextlib

from recdsl.ops.heads import head_of
from recdsl.training.config import OPTIMIZERS, ConfigError, RunConfig
from recdsl.training.distribution import Processes, check_backend, distribution_of

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


def check_precision(precision: str, backend: str | None = None) -> None:
    """Refuse a precision the backend cannot train here, before the run reads its data (after
    distribution.start: it asks JAX for its devices). mixed_float16 under JAX needs an accelerator:
    XLA's CPU dot products refuse float16 inputs with float32 accumulation (keras' attention raises
    "The precision 'F16_F16_F32' is not supported by dot_general on CPU" in the first compiled step)."""
    if backend is None:
        import keras

        backend = keras.backend.backend()
    if precision != "mixed_float16" or backend != "jax":
        return
    import jax

    if all(d.platform == "cpu" for d in jax.devices()):
        raise ConfigError("run setting `precision`: mixed_float16 under JAX needs a GPU; XLA on CPU does not "
                          "compute float16 products with float32 accumulation",
                          hint="use `precision: mixed_bfloat16` on CPU (or float32)")


def _strategy(keras, config: RunConfig, processes: Processes):
    """TensorFlow backend: MirroredStrategy when one machine has several GPUs (auto), else None;
    what it cannot do is refused (distribution.check_backend)."""
    check_backend(keras.backend.backend(), config.distribution, processes)
    if keras.backend.backend() != "tensorflow" or config.distribution != "auto":
        return None
    import tensorflow as tf

    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return None


def _jax_distribution(keras, config: RunConfig, spec, processes: Processes) -> None:
    """Under JAX and no distribution set: the run's (distribution_of over every device)."""
    if keras.backend.backend() != "jax" or keras.distribution.distribution() is not None:
        return
    found = distribution_of(config, spec, keras.distribution.list_devices(), processes)
    if found is not None:
        keras.distribution.set_distribution(found)


def build_model(spec, labels, config: RunConfig, keras, processes: Processes = Processes()):
    """The spec's model, compiled, in the distribution strategy's scope."""
    from recdsl.emitter import emit

    strategy = _strategy(keras, config, processes)
    _jax_distribution(keras, config, spec, processes)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = emit(spec)
        compile_model(model, labels, config, keras, use_xla(config.jit_compile, keras, spec))
    return model


def use_xla(setting: str, keras, spec=None) -> bool:
    """jit_compile: on/off as given; auto = on under JAX or with a GPU; on CPU under TensorFlow
    on when the spec's embedding tables are small (XLA_CPU_TABLE_LIMIT) and no node draws random
    numbers in training (xla_loses_on_cpu); off under torch."""
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
    if spec is None or xla_loses_on_cpu(spec):
        return False
    tables = [n.params for n in spec.nodes if n.kind == "feature"]
    return max(tables, default=0) <= XLA_CPU_TABLE_LIMIT


#: Arguments that make an op draw random numbers at every training step when above 0. XLA on CPU
#: draws them slowly: with dropout=0.1 a transformer block trains 14-19x slower under XLA, an MLP
#: 4x, while the same specs without dropout train as fast or faster (bench/xla_ops.py).
RANDOM_ARGS = ("dropout",)


def xla_loses_on_cpu(spec) -> list[str]:
    """The nodes (name: argument=value) that make XLA slower than TensorFlow's graphs on CPU."""
    return [f"{n.name}: {a}={n.arg(a)}" for n in spec.nodes for a in RANDOM_ARGS if (n.arg(a) or 0) > 0]


def compile_model(model, labels, config: RunConfig, keras, jit: bool) -> None:
    """Compile with the run's optimizer and, per labelled output, its head's loss and live metrics
    and the label's loss weight. Outputs without a label (served only: recdsl.data.schema.Served)
    get no loss and no metric: the loss is the weighted sum over the labelled outputs alone, and
    the training data hold no target for them (see `_served_targets`)."""
    if not labels:
        from recdsl.errors import UsageError

        raise UsageError(f"model `{model.name}` has nothing to train: every output is served only "
                         f"({', '.join(model.output_names)})",
                         hint="give one output a label and a loss weight, e.g. `output ctr = sigmoid(deep)`")
    optimizer = getattr(keras.optimizers, OPTIMIZERS[config.optimizer])(learning_rate=config.learning_rate)
    losses, weights, metrics = {}, {}, {}
    for lab in labels:
        head = head_of(lab.loss)
        losses[lab.output] = getattr(keras.losses, head.loss)()
        metrics[lab.output] = [getattr(keras.metrics, kind)(name=name) for kind, name in head.live_metrics]
        weights[lab.output] = lab.weight
    model.compile(optimizer=optimizer, loss=losses, loss_weights=weights, metrics=metrics,
                  jit_compile=jit)  # steps a call: set per fit leg (recdsl.training.fitloop)
    _served_targets(model, [name for name in model.output_names if name not in losses])


def _served_targets(model, served: list[str]) -> None:
    """Let the model train and evaluate on targets that name only its labelled outputs.

    Keras 3 (3.15, every backend) computes a loss dict that leaves outputs out, but its compiled
    metrics read a target for every model output (CompileMetrics._flatten_y). So the model's
    compute_metrics (Keras' documented override point) is given, for each served output the
    batch has no target for, that output's own prediction as a stand-in target, which no loss
    and no metric reads."""
    if not served:
        return
    base = type(model).compute_metrics

    def compute_metrics(x, y, y_pred, sample_weight=None):
        if isinstance(y, dict) and isinstance(y_pred, dict):
            y = {**{name: y_pred[name] for name in served if name not in y}, **y}
        return base(model, x, y, y_pred, sample_weight)

    model.compute_metrics = compute_metrics
