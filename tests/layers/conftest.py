import keras
import pytest


@pytest.fixture
def softmax_dtypes(monkeypatch):
    """Records the dtype of every `keras.ops.softmax` input while a test runs."""
    seen = []
    original = keras.ops.softmax

    def recording_softmax(x, axis=-1):
        seen.append(keras.backend.standardize_dtype(x.dtype))
        return original(x, axis=axis)

    monkeypatch.setattr(keras.ops, "softmax", recording_softmax)
    return seen
