"""The training step's memory profile (`benchmarks/profile_memory.py`)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from benchmarks import profile_memory

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _two_dense_layers():
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu", name="hidden"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


@pytest.mark.only_backend("tensorflow")
@pytest.mark.parametrize("batch", [4, 8])
def test_the_saved_activations_of_a_known_network_are_found_exactly(batch):
    model = _two_dense_layers()
    x, y = np.ones((batch, 6), "float32"), np.zeros((batch, 1), "float32")
    saved = profile_memory.saved_for_gradient(model, (x, y))
    # The gradient reads the ReLU's output (for the ReLU's own gradient and the
    # head's kernel gradient); the loss reads the prediction. The input is not
    # the model's, the pre-activation only has its shape read, and the weights
    # are variables: nothing else.
    relu, prediction = batch * 8 * 4, batch * 1 * 4
    assert saved["bytes"] == relu + prediction
    assert saved["tensors"] == 2
    assert saved["by_op_type"]["Relu"] == relu
    assert saved["by_layer"] == {"hidden": relu, "head": prediction}


@pytest.mark.only_backend("tensorflow")
def test_umdf_is_profiled_end_to_end_and_its_layers_are_named(tmp_path):
    # In a process of its own, as the script is meant to run: the allocator's
    # peak counts every live tensor of the process, and tests that ran before
    # in a shared pytest worker may still hold some.
    path = tmp_path / "profile.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.profile_memory", "--architecture", "tiny",
         "--batch-size", "3", "--steps", "1", "--json", str(path)],
        cwd=ROOT, env={**os.environ, "KERAS_BACKEND": "tensorflow"}, check=True,
        capture_output=True,
    )  # fmt: skip
    result = json.loads(path.read_text())
    memory, saved = result["memory_mb"], result["saved"]
    assert 0 < memory["built"]["rss_mb"] <= memory["last_step"]["peak_mb"]
    # The tiny model's tensors are all small: malloc's, not in the pool.
    assert result["tensor_peak_mb"] in (None, 0.0)
    assert saved["bytes"] > 0 and saved["unsized_tensors"] == 0
    assert sum(saved["by_op_type"].values()) == saved["bytes"]
    assert sum(saved["by_layer"].values()) == saved["bytes"]
    # Keyed by the model's layers, without the suffix of the traced call.
    assert any(name.startswith("mcim_") for name in saved["by_layer"])
    assert not any(name.endswith("_1") for name in saved["by_layer"])
    report = profile_memory.format_report(result, top=2)
    assert "activations kept for the gradient" in report and "more)" in report


@pytest.mark.only_backend("tensorflow")
@pytest.mark.parametrize("option", ["--batch-size", "--num-heads", "--steps"])
def test_non_positive_sizes_are_refused_naming_the_value(option, capsys):
    with pytest.raises(SystemExit):
        profile_memory.parse_args([option, "0"])
    assert "received" in capsys.readouterr().err
