import os

from keras_umdf import onednn

# Before keras: the suite runs with the settings a user's `import keras_umdf`
# gives, TensorFlow's oneDNN kernels included (done by that import already).
onednn.prefer_onednn()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()


def pytest_configure(config):
    """One torch intra-op thread per pytest-xdist worker; full-float32 JAX dots.

    The workers already use every core; torch's default of one thread per core
    in each worker makes them spin against each other (a small training step
    took 20x longer on a busy 2-core machine).

    On GPUs XLA computes float32 matrix products in TF32 unless told otherwise,
    about 1e-3 off the float64 references the equation tests compare with (seen
    on an H100); the tests check the equations, so they ask for full float32.
    On CPUs this changes nothing.
    """
    if BACKEND == "torch" and os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)
    if BACKEND == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {BACKEND}"


def pytest_collection_modifyitems(config, items):
    skip_tf = pytest.mark.skip(reason="needs KERAS_BACKEND=tensorflow")
    for item in items:
        if "tf_only" in item.keywords and BACKEND != "tensorflow":
            item.add_marker(skip_tf)
        marker = item.get_closest_marker("only_backend")
        if marker is not None and BACKEND not in marker.args:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"backend-independent; runs under {marker.args} only"
                )
            )
    # Files with slow tests that run here first, each file's tests in their own
    # order: pytest-xdist hands out whole files (--dist loadfile), and a long
    # file started last leaves the other workers idle until it ends.
    slow_files = {
        item.path
        for item in items
        if "slow" in item.keywords and not item.get_closest_marker("skip")
    }
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Every test starts with the float32 policy and a fixed seed."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def subprocess_env():
    """Environment for a child Python process on the same backend.

    Under pytest-xdist a PyTorch child gets one intra-op thread, like the
    workers (`pytest_configure`): with a thread per core it spins against the
    other workers (the README's example took minutes on a busy 2-core machine).
    """
    env = dict(os.environ, KERAS_BACKEND=BACKEND)
    if BACKEND == "torch" and os.environ.get("PYTEST_XDIST_WORKER"):
        env.setdefault("OMP_NUM_THREADS", "1")
    return env
