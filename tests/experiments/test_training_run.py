"""Training runs on disk: an interrupted run resumes exactly; NaN stops cleanly;
the epoch with the best validation MAE is the one kept, across a resume too."""

import json
import math
import pathlib
import shutil

import keras
import numpy as np
import pytest

from keras_umdf.data import synthetic
from keras_umdf.experiments.best_epoch import KeptEpoch
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
# Three validated epochs, the last spoiled (`SpoilLastEpoch`).
# No warm-up: `SpoilLastEpoch` sets the rate, which a schedule would own.
BEST = dict(SETTINGS, epochs=3, learning_rate=5e-2, warmup_steps=0)
VALIDATED = dict(tensorboard=False, verbose=0, progress=None)


class SpoilLastEpoch(keras.callbacks.Callback):
    """Trains the third epoch at a learning rate of 1: its weights move far
    from the first two epochs', so the best epoch is not the last on any
    backend and the test can tell keeping the best from keeping the last."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            self.model.optimizer.learning_rate.assign(1.0)


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


class RecordWeights(keras.callbacks.Callback):
    """Keeps a copy of the weights after each epoch: those of the same run
    stopped then."""

    def __init__(self):
        super().__init__()
        self.after_epoch = {}

    def on_epoch_end(self, epoch, logs=None):
        self.after_epoch[epoch + 1] = weights(self.model)


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
    assert (
        float(keras.ops.convert_to_numpy(resumed.model.distillation_ramp.step)) == 6.0
    )
    assert "resuming after epoch 1 of 2" in lines[0]
    # No validation (QUIET): select_epoch "best" falls back to the last epoch.
    note = "no validation split, so the last epoch is kept"
    assert resumed.kept_epoch == KeptEpoch(2, 2, "last", note=note)
    assert any(note in line for line in lines) and "kept the last epoch" in lines[-1]
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


@pytest.fixture(scope="module")
def best_run(data, tmp_path_factory):
    """A validated 3-epoch run, and a copy of its directory after epoch 2 (what
    a run killed then leaves behind)."""
    root = tmp_path_factory.mktemp("best")
    whole, cut = root / "whole", root / "cut"
    lines = []
    recorded = RecordWeights()
    result = train_model(
        data,
        whole,
        settings=BEST,
        seed=0,
        **{**VALIDATED, "progress": lines.append},
        callbacks=[CopyRunAfterEpoch(whole, cut, epoch=1), SpoilLastEpoch(), recorded],
    )
    return result, lines, cut, recorded.after_epoch


@pytest.mark.slow
def test_the_epoch_with_the_best_validation_mae_is_the_one_kept(best_run):
    result, lines, _, after_epoch = best_run
    maes = [row["val_mae"] for row in result.history]
    kept = result.kept_epoch
    assert kept.rule == "best" and kept.metric == "val_mae", kept
    assert kept.epoch == int(np.argmin(maes)) + 1 and kept.value == min(maes)
    assert kept.epoch < 3, maes  # else this test could not tell best from last
    assert f"kept epoch {kept.epoch} of 3 (val_mae {min(maes):.4g})" in lines[-1]
    whole = pathlib.Path(result.directory)
    record = json.loads((whole / "run.json").read_text())
    assert record["kept_epoch"] == kept.to_dict()
    assert record["config"]["select_epoch"] == "best"
    # The best weights are in model.keras; the resume state (and the best
    # epoch's weight file in it) is gone.
    assert not (whole / "training_state").exists()
    # They are the weights the run had after that epoch (recorded as it
    # trained), not those of the last epoch.
    saved = load_umdf_model(whole / "model.keras")
    best, last = after_epoch[kept.epoch], after_epoch[3]
    assert any((a != b).any() for a, b in zip(best, last, strict=True))
    for a, b, c in zip(best, weights(result.model), weights(saved), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.slow
def test_a_resumed_run_keeps_the_best_epoch_found_before_the_interruption(
    best_run, data
):
    uninterrupted, _, cut, _ = best_run
    assert uninterrupted.kept_epoch.epoch <= 2  # found before the copy
    state = json.loads((cut / "training_state" / "latest.json").read_text())
    assert state["extra"]["best_epoch"]["best_epoch"] == uninterrupted.kept_epoch.epoch
    with pytest.raises(ValueError, match="select_epoch: recorded 'best', now 'last'"):
        train_model(data, cut, settings=BEST, seed=0, select_epoch="last", **VALIDATED)
    resumed = train_model(
        data, cut, settings=BEST, seed=0, callbacks=[SpoilLastEpoch()], **VALIDATED
    )
    assert resumed.initial_epoch == 2
    assert resumed.kept_epoch == uninterrupted.kept_epoch
    for a, b in zip(weights(uninterrupted.model), weights(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_unknown_select_epoch_is_refused_before_anything_is_written(data, tmp_path):
    with pytest.raises(ValueError, match=r"\('best', 'last'\); received 'first'"):
        train_model(data, tmp_path / "run", settings=SETTINGS, select_epoch="first")
    assert not (tmp_path / "run").exists()


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
