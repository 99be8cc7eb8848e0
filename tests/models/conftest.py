import importlib.util

import keras
import numpy as np
import pytest

from keras_umdf import UMDF
from tests.models.umdf_inputs import PAIR_CONFIG
from tests.models.umdf_inputs import SMALL_CONFIG
from tests.models.umdf_inputs import two_views


@pytest.fixture
def small_config():
    return dict(SMALL_CONFIG)


@pytest.fixture
def pair_config():
    return dict(PAIR_CONFIG)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One UMDF (lambda_fea=0.3, lambda_logits=0.7) trained 2 epochs with TensorBoard.

    Shared by the tests that need a trained model, so the train step compiles
    once per module rather than once per test. Keras's TensorBoard callback
    writes with TensorFlow; where TensorFlow is not installed (GPU images with
    JAX or PyTorch alone) the model trains without it, and the TensorBoard test
    skips.
    """
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    log_dir = tmp_path_factory.mktemp("tensorboard")
    model = UMDF(**SMALL_CONFIG, lambda_fea=0.3, lambda_logits=0.7)
    model.compile(optimizer="adam")
    x = two_views(rng, 6)
    y = rng.normal(size=(6, 1)).astype("float32")
    callbacks = []
    if importlib.util.find_spec("tensorflow") is not None:
        callbacks.append(
            keras.callbacks.TensorBoard(log_dir=str(log_dir), update_freq="epoch")
        )
    history = model.fit(x, y, epochs=2, batch_size=6, verbose=0, callbacks=callbacks)
    return {"model": model, "history": history.history, "log_dir": log_dir}
