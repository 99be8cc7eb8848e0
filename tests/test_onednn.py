"""`import keras_umdf` turns on TensorFlow's oneDNN kernels, unless told not to."""

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from keras_umdf import onednn

SCRIPT = """
import os, sys
{first}
import keras_umdf
from keras_umdf import onednn
import tensorflow
print(os.environ.get("TF_ENABLE_ONEDNN_OPTS"), onednn.onednn_enabled())
"""
# Three training steps and the predictions of a small UMDF, its attention on
# TensorFlow's chunked path, with dropout.
# Eagerly: the same kernels run as in a traced step, without tracing the step
# in each process (about half of this test's time).
TRAIN = """
import json
import numpy as np
import keras_umdf
import keras
keras.utils.set_random_seed(0)
dims = {"text": 12, "audio": 6, "vision": 4}
model = keras_umdf.UMDF(dims, hidden_dim=8, num_heads=4, num_layers=2)
model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
rng = np.random.default_rng(0)
def view():
    return {m: rng.normal(size=(8, 10, d)).astype("float32") for m, d in dims.items()}
x, test = {"view_a": view(), "view_b": view()}, view()
x["view_b"]["text"][:4] = 0.0  # text missing in half of the second view
y = rng.normal(size=(8, 1)).astype("float32")
losses = [model.train_on_batch(x, y, return_dict=True)["loss"] for _ in range(3)]
losses = [float(v) for v in losses]
print(json.dumps({"onednn": keras_umdf.onednn.onednn_enabled(), "losses": losses,
                  "predictions": model.predict_on_batch(test).ravel().tolist()}))
"""
# Compiles a small UMDF twice and reports the oneDNN warnings it gave.
WARN = """
import json, warnings
{first}
import keras_umdf
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for _ in range(2):
        dims = {{"text": 4, "audio": 3, "vision": 2}}
        keras_umdf.UMDF(dims, hidden_dim=4, num_heads=2, num_layers=1).compile()
print(json.dumps({{"onednn": keras_umdf.onednn.onednn_enabled(),
                  "warnings": [str(w.message) for w in caught if "oneDNN" in str(w.message)]}}))
"""
# TensorFlow's pip wheels carry oneDNN on x86-64 Linux.
X86 = platform.machine().lower() in ("x86_64", "amd64")


def run(subprocess_env, first="", variable=None, script=None):
    env = {k: v for k, v in subprocess_env.items() if k != onednn.VARIABLE}
    if variable is not None:
        env[onednn.VARIABLE] = variable
    result = subprocess.run(
        [sys.executable, "-c", script or SCRIPT.format(first=first)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    return json.loads(last) if script else last.split()


@pytest.mark.only_backend("tensorflow")
def test_import_before_tensorflow_turns_onednn_on(subprocess_env):
    variable, enabled = run(subprocess_env)
    assert variable == "1"
    if X86:
        assert enabled == "True"


@pytest.mark.only_backend("tensorflow")
def test_a_value_the_user_set_is_kept(subprocess_env):
    variable, enabled = run(subprocess_env, variable="0")
    assert (variable, enabled) == ("0", "False")


@pytest.mark.only_backend("tensorflow")
def test_nothing_is_set_once_tensorflow_is_loaded(subprocess_env):
    variable, _ = run(subprocess_env, first="import tensorflow")
    assert variable == "None"


@pytest.mark.slow
@pytest.mark.only_backend("tensorflow")
@pytest.mark.skipif(not X86, reason="TensorFlow's oneDNN kernels are x86-64's")
def test_onednn_and_eigen_kernels_train_and_predict_alike(subprocess_env):
    # The same seeded steps, with oneDNN's kernels and with Eigen's: the same
    # losses and predictions up to float32 round-off (the dropout masks and the
    # initial weights do not depend on the kernels).
    onednn_run = run(subprocess_env, variable="1", script=TRAIN)
    eigen_run = run(subprocess_env, variable="0", script=TRAIN)
    assert (onednn_run["onednn"], eigen_run["onednn"]) == (True, False)
    for key in ("losses", "predictions"):
        np.testing.assert_allclose(
            onednn_run[key], eigen_run[key], rtol=1e-4, atol=1e-5, err_msg=key
        )
    assert np.ptp(onednn_run["losses"]) > 0  # the weights moved


@pytest.mark.slow
@pytest.mark.only_backend("tensorflow")
def test_compiling_warns_once_when_tensorflow_loaded_first_without_onednn(
    subprocess_env,
):
    late = run(subprocess_env, script=WARN.format(first="import tensorflow"))
    if late["onednn"] is False:  # TensorFlow's default on this CPU: off
        assert len(late["warnings"]) == 1  # two compiles, one warning
        message = late["warnings"][0]
        assert "imported before keras_umdf" in message
        assert "TF_ENABLE_ONEDNN_OPTS=1" in message and "=0 keeps" in message
    else:  # a CPU where TensorFlow turns oneDNN on by itself
        assert late["warnings"] == []
    for first, variable in (("", None), ("import tensorflow", "0")):
        # keras_umdf first (oneDNN on), or the user's own choice of kernels.
        quiet = run(subprocess_env, variable=variable, script=WARN.format(first=first))
        assert quiet["warnings"] == [], (first, variable)


def test_prefer_onednn_keeps_a_set_value_and_a_loaded_tensorflow(monkeypatch):
    monkeypatch.setenv(onednn.VARIABLE, "0")
    assert not onednn.prefer_onednn()
    assert os.environ[onednn.VARIABLE] == "0"
    monkeypatch.delenv(onednn.VARIABLE)
    monkeypatch.setitem(sys.modules, "tensorflow", sys.modules.get("tensorflow"))
    assert not onednn.prefer_onednn()
    assert onednn.VARIABLE not in os.environ
    monkeypatch.delitem(sys.modules, "tensorflow")
    assert onednn.prefer_onednn()
    assert os.environ[onednn.VARIABLE] == "1"
    assert onednn.onednn_enabled() is None


@pytest.mark.only_backend("tensorflow")
@pytest.mark.skipif(not X86, reason="TensorFlow's oneDNN kernels are x86-64's")
def test_onednn_enabled_reports_this_process_setting():
    # The suite's TensorFlow loaded after `prefer_onednn` (tests/conftest.py):
    # oneDNN runs unless the variable says "0"; the answer is kept.
    import tensorflow  # noqa: F401

    expected = os.environ.get(onednn.VARIABLE) != "0"
    assert onednn.onednn_enabled() is expected
    assert onednn.onednn_enabled() is expected
