import pathlib
import subprocess
import sys

import keras
import pytest

from recdsl import ops as registry
from recdsl.layers import load_layer


def test_every_registry_layer_path_loads():
    for name, spec in registry.load().items():
        if spec.layer is None:
            continue
        cls = load_layer(spec.layer)
        assert issubclass(cls, keras.layers.Layer), name
        assert keras.saving.get_registered_name(cls) == f"recdsl>{cls.__name__}", name


def test_short_paths_and_errors():
    assert load_layer("din:DinAttention").__name__ == "DinAttention"
    with pytest.raises(ValueError, match="module:Class"):
        load_layer("recdsl.layers.din.DinAttention")
    with pytest.raises(ValueError, match="no layer"):
        load_layer("recdsl.layers.din:Missing")


def test_package_import_does_not_import_keras():
    code = "import sys, recdsl.layers; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=pathlib.Path(__file__).parents[2])
