"""TensorFlow's and Keras' own log output, kept from the user of the `recdsl` command.

A recdsl command prints what recdsl means to say; what TensorFlow's C++ runtime logs on the way
(oneDNN and CUDA notices, `cuInit` errors on a machine without a GPU, XLA and MLIR lines, CPU
feature notices) and the Python `tensorflow`/`absl` loggers' notices are noise to a recdsl user.
`silence_tensorflow()` runs before TensorFlow is first imported:

- TF_CPP_MIN_LOG_LEVEL=3 (C++ messages below FATAL), unless the user set it: theirs is kept;
- TensorFlow is imported with file descriptor 2 pointed at /dev/null, because a few libraries
  log through absl before `absl::InitializeLog()` is called, which no variable controls (kept
  when the user asked for C++ INFO lines with TF_CPP_MIN_LOG_LEVEL=0);
- the Python `tensorflow` and `absl` loggers show errors only, and Keras' and TensorFlow's
  Python warnings are not shown.

TF_ENABLE_ONEDNN_OPTS is left as it is: it changes numerics, not just logging. `--verbose` and
`--debug` skip all of this.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings

#: the commands that import TensorFlow (through Keras)
TF_COMMANDS = frozenset({"build", "train", "evaluate", "predict", "export", "demo"})
#: Python warnings of these packages are not shown to a recdsl user
NOISY_PACKAGES = ("keras", "tensorflow", "tf_keras", "absl", "jax")


def silence_tensorflow() -> None:
    """Keep TensorFlow's C++ and Python log lines from stderr for the rest of the process
    (see the module docstring). Safe to call more than once; after TensorFlow was imported it
    only quiets the Python side."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for package in NOISY_PACKAGES:
        warnings.filterwarnings("ignore", module=rf"{package}(\..*)?$")
    if "tensorflow" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        return
    with _stderr_muted():
        try:
            import tensorflow  # noqa: F401  (its import-time C++ lines go to /dev/null)
        except ImportError:
            return
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)


@contextlib.contextmanager
def _stderr_muted():
    """File descriptor 2 points at /dev/null inside the block (what C++ code writes there is lost);
    Python's sys.stderr is flushed before and after, so nothing of recdsl's is reordered or lost."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to mute
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
