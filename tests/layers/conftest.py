import keras
import pytest


@pytest.fixture
def softmax_dtypes(monkeypatch):
    """Records the dtype of every softmax input while a test runs: the calls of
    `keras.ops.softmax` and, on TensorFlow, of `tf.nn.softmax` (its attention
    kernel's, `keras_umdf.backend.tensorflow.attention`)."""
    seen = []

    def recording(original):
        def softmax(x, axis=-1, **kwargs):
            seen.append(keras.backend.standardize_dtype(x.dtype))
            return original(x, axis=axis, **kwargs)

        return softmax

    monkeypatch.setattr(keras.ops, "softmax", recording(keras.ops.softmax))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        monkeypatch.setattr(tf.nn, "softmax", recording(tf.nn.softmax))
    return seen
