"""`BestEpochCheckpoint`: the best epoch's weights on disk, its state for a resume."""

import math

import keras
import numpy as np
import pytest

from keras_umdf.experiments.best_epoch import BestEpochCheckpoint
from keras_umdf.experiments.best_epoch import KeptEpoch
from keras_umdf.experiments.best_epoch import check_select_epoch

pytestmark = pytest.mark.only_backend("tensorflow")  # file bookkeeping only


def small_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def set_weights_to(model, value):
    for variable in model.weights:
        variable.assign(np.full(variable.shape, value, "float32"))


def end_epoch(callback, model, epoch, value, monitor="val_mae"):
    """One epoch of a fit as the callback sees it: weights `epoch + 1`."""
    callback.on_epoch_begin(epoch)
    set_weights_to(model, epoch + 1.0)
    callback.on_epoch_end(epoch, {monitor: value})


def files(directory):
    return sorted(p.name for p in directory.iterdir())


def test_only_improvements_are_written_and_older_files_go_next_epoch(tmp_path):
    model = small_model()
    best = BestEpochCheckpoint(tmp_path / "best", monitor="val_mae", mode="min")
    best.set_model(model)
    end_epoch(best, model, 0, 1.0)
    end_epoch(best, model, 1, 1.2)  # worse: nothing written
    assert files(tmp_path / "best") == ["epoch-1.weights.h5"]
    end_epoch(best, model, 2, 1.0)  # a tie keeps the earlier epoch
    end_epoch(best, model, 3, math.nan)  # not finite: ignored
    assert (best.best_epoch, best.best_value) == (1, 1.0)
    end_epoch(best, model, 4, 0.75)
    # The older file stays until the next epoch begins (its training state,
    # which names epoch 5, is saved in between).
    assert files(tmp_path / "best") == ["epoch-1.weights.h5", "epoch-5.weights.h5"]
    best.on_epoch_begin(5)
    assert files(tmp_path / "best") == ["epoch-5.weights.h5"]
    assert best.state() == {
        "monitor": "val_mae",
        "mode": "min",
        "best_epoch": 5,
        "best_value": 0.75,
    }
    set_weights_to(model, -3.0)
    assert best.restore_best_weights(model)
    for variable in model.weights:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), 5.0)


def test_max_mode_keeps_the_highest_f1(tmp_path):
    model = small_model()
    best = BestEpochCheckpoint(tmp_path, monitor="val_weighted_f1", mode="max")
    best.set_model(model)
    for epoch, value in enumerate([0.4, 0.7, 0.6]):
        end_epoch(best, model, epoch, value, monitor="val_weighted_f1")
    assert (best.best_epoch, best.best_value) == (2, 0.7)


def test_a_resume_continues_from_the_saved_best_and_drops_redone_epochs(tmp_path):
    model = small_model()
    first = BestEpochCheckpoint(tmp_path, monitor="val_mae", mode="min")
    first.set_model(model)
    end_epoch(first, model, 0, 1.0)
    end_epoch(first, model, 1, 0.9)
    saved = first.state()  # the training state of epoch 2
    end_epoch(first, model, 2, 0.5)  # killed before epoch 3's state was saved
    assert files(tmp_path) == ["epoch-2.weights.h5", "epoch-3.weights.h5"]

    resumed = BestEpochCheckpoint(tmp_path, monitor="val_mae", mode="min")
    resumed.set_model(model)
    resumed.restore_state(saved)
    assert (resumed.best_epoch, resumed.best_value) == (2, 0.9)
    assert files(tmp_path) == ["epoch-2.weights.h5"]  # epoch 3 is redone
    end_epoch(resumed, model, 2, 0.95)  # worse than the saved best
    assert resumed.best_epoch == 2

    with pytest.raises(ValueError, match="selected epochs by 'val_mae'.*'val_f1'"):
        BestEpochCheckpoint(tmp_path, monitor="val_f1", mode="max").restore_state(saved)
    (tmp_path / "epoch-2.weights.h5").unlink()
    with pytest.raises(ValueError, match="epoch 2 as the best, but its weights"):
        BestEpochCheckpoint(tmp_path, monitor="val_mae", mode="min").restore_state(
            saved
        )


def test_select_epoch_and_mode_are_checked_with_the_choices_named():
    assert check_select_epoch("best") == "best" and check_select_epoch("last")
    with pytest.raises(ValueError, match=r"\('best', 'last'\); received 'first'"):
        check_select_epoch("first")
    with pytest.raises(ValueError, match="'min' or 'max'; received 'lowest'"):
        BestEpochCheckpoint("unused", monitor="val_mae", mode="lowest")


def test_the_kept_epoch_reads_as_one_progress_phrase():
    kept = KeptEpoch(7, 15, "best", "val_mae", 0.912)
    assert kept.describe() == "kept epoch 7 of 15 (val_mae 0.912)"
    assert KeptEpoch(15, 15, "last").describe() == "kept the last epoch (15 of 15)"
    assert KeptEpoch.from_dict(kept.to_dict()) == kept
    assert KeptEpoch.from_dict(None) is None
