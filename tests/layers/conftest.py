import keras
import pytest


def pytest_configure(config):
    # Keras 3.15 converts variables with np.array(x, copy=False), which numpy >= 2.4 flags.
    config.addinivalue_line(
        "filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture(autouse=True)
def _float32_policy():
    """Tests that switch the global dtype policy must not leak it."""
    yield
    keras.config.set_dtype_policy("float32")
