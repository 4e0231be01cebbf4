"""model.fit for a run: the training batches from a given epoch on (the same batches an
uninterrupted run sees, trimmed to the devices of a data-parallel distribution), and the fallback
without XLA when XLA cannot compile the model."""
from __future__ import annotations

import warnings

from recdsl.data.pipeline import Split, bucketed_inputs
from recdsl.training.backup import stop_requests
from recdsl.training.config import RunConfig
from recdsl.training.scoring import batch_shards

#: steps_per_execution: auto runs up to this many training steps in one compiled call
AUTO_EXECUTION_STEPS = 16


def execution_steps(setting, steps: int | None, backup_every_steps: int = 0, backend: str = "tensorflow") -> int:
    """Training steps per compiled call (Keras' steps_per_execution) for a fit leg of `steps` steps
    an epoch: the largest count up to the setting (auto: AUTO_EXECUTION_STEPS) that divides both
    `steps` and `backup_every_steps` (when on). Keras runs whole calls, so a count that does not
    divide the epoch trains the next epoch's first batches in this one; callbacks run once a
    call, so backups land every `backup_every_steps` steps only when the count divides it.
    Streamed data (steps None: not known before its epoch ends) runs one step a call, and so does
    the torch backend (Keras' torch trainer runs one). Several steps a call train the same steps
    on the same batches, with less Python around each."""
    if not steps or backend == "torch":
        return 1
    cap = AUTO_EXECUTION_STEPS if setting == "auto" else int(setting)
    return max(d for d in range(1, min(cap, steps) + 1)
               if steps % d == 0 and (not backup_every_steps or backup_every_steps % d == 0))


def use_execution_steps(model, count: int) -> None:
    """Make the model's next fit run `count` steps a call (its training function built again)."""
    if model.steps_per_execution != count:
        model.steps_per_execution = count
        model.train_function = None


def say(log, text: str) -> None:
    if log:
        log(text)


def fit_args(schema, train_split: Split, streamed: bool, config: RunConfig, keras, model, spec_name: str,
             log, initial_epoch: int = 0, initial_step: int = 0) -> list[dict]:
    """model.fit's data arguments for the training split, from step `initial_step` of epoch
    `initial_epoch` + 1 on, as legs: one fit call each; says what is about to be trained.

    Cached data is one endless stream of epochs whose order follows from the seed alone
    (Split.training_dataset), so a resumed run skips the epochs and steps it trained before and
    sees the batches an uninterrupted run sees. A run resumed inside an epoch trains in two legs:
    the rest of that epoch (steps_per_epoch shortened), then the epochs after it. Streamed data
    trains one leg per epoch, each shuffled from (seed, epoch) alone (Split.dataset's `epoch`),
    and skips the batches already trained in the epoch it resumes, so it too sees the batches
    an uninterrupted run sees. Under a distribution that splits batches across devices, each
    batch is trimmed to a multiple of their number."""
    cut = bucketed_inputs(schema, config.length_buckets)
    starts = [(initial_epoch, initial_step)] + ([(initial_epoch + 1, 0)] if initial_step else [])
    if streamed:
        starts = [(initial_epoch, initial_step)] + [(e, 0) for e in range(initial_epoch + 1, config.epochs)]
    legs = []
    for epoch, step in starts:
        if epoch >= config.epochs:
            break
        if streamed:  # tf.data pipelines shuffle themselves, one epoch each
            x = train_split.dataset(config.batch_size, config.shuffle_buffer, config.seed,
                                    length_buckets=config.length_buckets, epoch=epoch)
            leg = dict(x=_trimmed(x.skip(step) if step else x, batch_shards()), shuffle=False)
            legs.append(dict(leg, initial_epoch=epoch, epochs=epoch + 1))
            continue
        else:  # one iterator for every epoch
            steps = train_split.batches_per_epoch(config.batch_size)
            x = train_split.training_dataset(config.batch_size, config.length_buckets, config.seed,
                                             skip=epoch * steps + step)
            leg = dict(x=_trimmed(x, batch_shards()), steps_per_epoch=steps - step, shuffle=False)
        legs.append(dict(leg, initial_epoch=epoch, epochs=epoch + 1 if step else config.epochs))
    calls = execution_steps(config.steps_per_execution, legs[-1].get("steps_per_epoch") if legs else None,
                            config.backup_every_steps, keras.backend.backend())
    say(log, f"training {spec_name}: {config.epochs} epoch(s), batch {config.batch_size}, "
             f"{config.optimizer} lr {config.learning_rate:g}, {config.precision}, "
             f"XLA {'on' if model.jit_compile else 'off'}"
             + (f", {calls} steps a call" if calls > 1 else "")
             + (f", length buckets of {config.length_buckets} ({', '.join(cut)})" if cut else ""))
    return legs


def _trimmed(dataset, shards: int):
    """A dataset of (inputs, labels) batches cut to a multiple of `shards` rows (as it is for 1)."""
    if shards == 1:
        return dataset
    import tensorflow as tf

    def cut(x, y):
        keep = tf.shape(next(iter(y.values())))[0] // shards * shards
        return ({k: v[:keep] for k, v in x.items()}, {k: v[:keep] for k, v in y.items()})

    return dataset.map(cut).filter(lambda x, y: tf.shape(next(iter(y.values())))[0] > 0)


def fit(model, compile_without_xla, legs: list[dict], config: RunConfig, callbacks, verbose, log) -> None:
    """model.fit over each leg of fit_args, SIGTERM and Ctrl-C turned into a backup and a clean
    stop (recdsl.training.backup); when XLA cannot compile the model, say so, recompile without it
    and fit again. A leg that ends in early stopping ends training."""
    def fit(leg, final):
        import keras

        use_execution_steps(model, execution_steps(config.steps_per_execution, leg.get("steps_per_epoch"),
                                                   config.backup_every_steps, keras.backend.backend()))
        for callback in callbacks:
            if hasattr(callback, "final_leg"):
                callback.final_leg = final
        with warnings.catch_warnings():
            # a streamed epoch ends when its data does, which Keras reports as a problem
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            return model.fit(**leg, callbacks=callbacks, verbose=verbose)

    with stop_requests():
        for i, leg in enumerate(legs):
            final = i == len(legs) - 1
            try:
                fit(leg, final)
            except Exception as exc:  # an op XLA cannot compile: say so and train without it
                if not model.jit_compile or not _is_xla_error(exc):
                    raise
                say(log, f"XLA could not compile this model ({str(exc).splitlines()[0][:200]}); "
                         "training without jit_compile")
                compile_without_xla()
                fit(leg, final)
            if model.stop_training:
                break


def _is_xla_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return any(s in text for s in ("XLA", "xla", "jit_compile", "JIT compilation", "Unsupported op"))
