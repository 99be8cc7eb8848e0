import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest

from keras_umdf.data import synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_DIMS = {"text": 6, "audio": 4, "vision": 3}
TINY_MODEL = {"hidden_dim": 8, "num_heads": 2, "num_layers": 1}
# The CLI flags of the same tiny model, one epoch, one batch per epoch.
TINY_FLAGS = [
    "--epochs", "1", "--batch-size", "32", "--num-heads", "2",
    "--hidden-dim", "8", "--num-layers", "1",
]  # fmt: skip


def tiny_data():
    """Synthetic MOSI at 2 % of its size (26/5/14 clips), 8 frames, tiny widths."""
    return synthetic(
        "mosi", seed=0, scale=0.02, sequence_length=8, modality_dims=TINY_DIMS
    )


@pytest.fixture(scope="session")
def tiny():
    return tiny_data()


@pytest.fixture
def tiny_pickle(tmp_path):
    """The tiny dataset as a MulT pickle, for the command line."""
    data = tiny_data()
    content = {}
    for name in ("train", "valid", "test"):
        split = data[name]
        content[name] = {m: np.asarray(split.features[m]) for m in TINY_DIMS}
        content[name]["labels"] = np.asarray(split.labels, np.float32).reshape(-1, 1, 1)
    path = tmp_path / "tiny_mosi_data.pkl"
    with open(path, "wb") as file:
        pickle.dump(content, file)
    return str(path)


@pytest.fixture
def cli_env(subprocess_env):
    """Environment of a `keras-umdf` child process: this backend, one thread."""
    return {
        **subprocess_env,
        "PYTHONPATH": ROOT,
        "OMP_NUM_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


@pytest.fixture
def processes():
    """Starts `keras-umdf` child processes; kills any left when the test ends."""
    started = []

    def start(args, env, log_path):
        log = open(log_path, "w")
        process = subprocess.Popen(
            [sys.executable, "-m", "keras_umdf", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        process.log = log
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        process.log.close()
