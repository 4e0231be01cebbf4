import keras
import pytest


@pytest.fixture(autouse=True)
def _float32_policy():
    """Tests that switch the global dtype policy must not leak it."""
    yield
    keras.config.set_dtype_policy("float32")
