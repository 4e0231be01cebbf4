"""`recdsl train`: fit a compiled spec on data files and write the run folder (model, metrics, report).

    atomic.py       run files written atomically (temporary name, then rename)
    runs.py         the run folder: check, prepare, status, load a finished run
    lock.py         the lock that gives a run folder one owner
    config.py       run settings
    distribution.py scale-out on JAX: data/model parallel, the LayoutMap, the processes of a run
    scaled.py       a multi-process run's hooks: equal shards, local batch, the gathered twin model
    compilation.py  Keras setup, distribution strategy, XLA choice, compile (heads' losses/metrics)
    progress.py     history, best epoch, early stopping and the backup that --resume continues
    callbacks.py    the Keras callbacks of a run (timing, divergence, exact validation, progress)
    fitloop.py      model.fit: the training batches from an epoch on, the XLA fallback
    fit.py          train(): the orchestration, and a failed run's folder
    scoring.py      scores and metrics of a split; evaluate, predict on a finished run
    metrics.py      exact metrics in numpy
    history.py      a Keras history: metric families, best epoch
    diagnostics.py  attention weights and their statistics
    plots.py        curves.png, attention.png
    markdown.py     markdown formatting
    report.py       report.md
"""
import os

# before TensorFlow is first imported: its C++ INFO and WARNING lines would bury the run's output
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
