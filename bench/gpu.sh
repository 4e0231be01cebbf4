#!/usr/bin/env bash
# recdsl's training and inference speed under JAX on a GPU machine that has JAX (with CUDA), numpy,
# h5py, rich, PyYAML and networkx but no TensorFlow, no Keras and no package index
# (bench/gpu_speed.py says what is timed).
#
#   bench/gpu.sh --prepare [WHEELS]    here, with a package index: writes WHEELS (default .whl/, git-
#                                      ignored): recdsl as a wheel, Keras and the small packages recdsl
#                                      imports on the emit path, for Python 3.12 manylinux x86-64 and
#                                      this machine's Python (a few MiB; the device carries 64 MiB)
#   bench/gpu.sh [ARGS...]             there: installs recdsl from WHEELS (pip --no-index --find-links)
#                                      into $PYTHON's environment, then runs
#                                      KERAS_BACKEND=jax $PYTHON bench/gpu_speed.py ARGS
#                                      (--smoke: tiny sizes; --out FILE: the Markdown table)
#
# Environment: PYTHON (default python3), RECDSL_WHEELS (default .whl under the repository root).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
WHEELS=${RECDSL_WHEELS:-$ROOT/.whl}

# Not in the GPU image (KINDS.md lists what is): Keras and its small pure dependencies, lark, and
# recdsl's declared dependencies that its emit path never imports but pip installs with it.
CARRIED="keras==3.15.1 namex optree lark pygls lsprotocol cattrs attrs typing-extensions graphviz"

prepare() {
  local dir=${1:-$WHEELS}
  mkdir -p "$dir"
  rm -f "$dir"/recdsl-*.whl
  "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$dir" "$ROOT"
  for version in 3.12 "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"; do
    # shellcheck disable=SC2086
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$dir" \
      --python-version "$version" --implementation cp --platform manylinux_2_28_x86_64 \
      --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      $CARRIED
  done
  echo "wrote $dir: $(ls "$dir" | wc -l) wheels, $(du -sh "$dir" | cut -f1)"
}

if [[ "${1:-}" == "--prepare" ]]; then
  prepare "${2:-}"
  exit 0
fi
if ! ls "$WHEELS"/recdsl-*.whl >/dev/null 2>&1; then
  echo "bench/gpu.sh: no recdsl wheel in $WHEELS; run bench/gpu.sh --prepare where pip reaches an index" >&2
  exit 1
fi
"$PYTHON" -m pip uninstall --quiet --yes recdsl >/dev/null 2>&1 || true  # this tree's wheel, not an older one
"$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" "$WHEELS"/recdsl-*.whl keras  # not recdsl[keras]: no TensorFlow
cd "$ROOT"
KERAS_BACKEND=jax exec "$PYTHON" bench/gpu_speed.py "$@"
