"""Training runs on disk: an interrupted run resumes exactly; NaN stops cleanly."""

import json
import math
import shutil

import keras
import numpy as np
import pytest

from keras_umdf.data import synthetic
from keras_umdf.experiments.history_file import read_history
from keras_umdf.experiments.model_file import load_umdf_model
from keras_umdf.experiments.nan_guard import TrainingDiverged
from keras_umdf.experiments.training_run import train_model

# The weights, optimizer and random states are restored on every backend; this
# checks it where a fit is cheap to compile (JAX compiles the step for minutes).
pytestmark = pytest.mark.only_backend("tensorflow", "torch")

SETTINGS = dict(
    batch_size=8, learning_rate=1e-3, epochs=2, num_heads=2, hidden_dim=8, num_layers=1
)
QUIET = dict(tensorboard=False, validate=False, verbose=0)


@pytest.fixture(scope="module")
def data():
    dims = {"text": 6, "audio": 5, "vision": 4}
    return synthetic("mosi", seed=0, scale=0.02, sequence_length=8, modality_dims=dims)


class CopyRunAfterEpoch(keras.callbacks.Callback):
    """Copies the run directory as it is on disk after an epoch: what a run
    killed right then leaves behind."""

    def __init__(self, source, target, epoch):
        super().__init__()
        self.source, self.target, self.epoch = source, target, epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            shutil.copytree(self.source, self.target)


class PoisonWeights(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == 1 and batch == 0:
            variable = self.model.trainable_variables[0]
            variable.assign(np.full(variable.shape, np.nan, "float32"))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


def weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


@pytest.mark.slow
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(data, tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    # A warm-up longer than the first epoch (4 steps): the resumed run must go
    # on with the ramp where it stopped, or its weights differ.
    warmup = {"distillation_warmup": 6}
    uninterrupted = train_model(
        data,
        whole,
        settings=SETTINGS,
        model_arguments=warmup,
        seed=1,
        **QUIET,
        progress=None,
        callbacks=[CopyRunAfterEpoch(whole, cut, epoch=0)],
    )
    assert json.loads((cut / "run.json").read_text())["status"] == "running"
    lines = []
    resumed = train_model(
        data,
        cut,
        settings=SETTINGS,
        model_arguments=warmup,
        seed=1,
        **QUIET,
        progress=lines.append,
    )
    assert resumed.status == "resume" and resumed.initial_epoch == 1
    assert float(keras.ops.convert_to_numpy(resumed.model.distillation_step)) == 6.0
    assert "resuming after epoch 1 of 2" in lines[0]
    for a, b in zip(weights(uninterrupted.model), weights(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    history = read_history(cut / "history.json")
    assert [row["epoch"] for row in history] == [1, 2]
    assert [row["attempt"] for row in history] == [1, 2]
    assert history[1]["loss"] == uninterrupted.history[1]["loss"]
    # Finished: the model is saved, the resume state is gone, run.json says so.
    assert (cut / "model.keras").exists() and not (cut / "training_state").exists()
    assert json.loads((cut / "run.json").read_text())["status"] == "finished"
    with pytest.raises(FileExistsError, match="already holds a finished run"):
        train_model(
            data,
            cut,
            settings=SETTINGS,
            model_arguments=warmup,
            seed=1,
            progress=None,
        )


@pytest.mark.slow
@pytest.mark.only_backend("torch")  # orchestration: fastest on eager PyTorch
def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_epoch(
    data, tmp_path
):
    with pytest.raises(TrainingDiverged) as caught:
        train_model(
            data,
            tmp_path,
            settings=SETTINGS,
            **QUIET,
            progress=None,
            callbacks=[PoisonWeights()],
        )
    message = str(caught.value)
    assert "became nan at epoch 2, batch 1" in message
    assert "last good checkpoint (epoch 1)" in message and "checkpoint.keras" in message
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "failed" and "epoch 2" in record["error"]
    checkpoint = load_umdf_model(tmp_path / "checkpoint.keras")
    assert all(np.isfinite(w).all() for w in weights(checkpoint))
    assert [row["epoch"] for row in read_history(tmp_path / "history.json")] == [1]
    assert not any(
        math.isnan(v)
        for v in read_history(tmp_path / "history.json")[0].values()
        if isinstance(v, float)
    )
    with pytest.raises(FileExistsError, match="failed run"):
        train_model(data, tmp_path, settings=SETTINGS, progress=None)
