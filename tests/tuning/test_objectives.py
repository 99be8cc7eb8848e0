"""The objective: a validation task metric with its direction, never val_loss."""

import keras
import numpy as np
import pytest

from keras_umdf.data import MaskedPyDataset
from keras_umdf.data import synthetic
from keras_umdf.modalities import INCOMPLETE_CONDITIONS
from keras_umdf.models.umdf import UMDF
from tests.tuning.conftest import TINY_MODEL
from tuning import IncompleteConditionsAverage
from tuning import SearchSpace
from tuning import TaskObjective
from tuning import UMDFHyperModel
from tuning import make_tuner


@pytest.mark.only_backend("torch")
@pytest.mark.parametrize(
    "task, multi_label, name, direction",
    [
        ("regression", False, "val_mae", "min"),
        ("classification", False, "val_weighted_f1", "max"),
        ("classification", True, "val_mean_f1", "max"),
    ],
)
def test_the_tuner_optimises_the_task_metric_not_val_loss(
    tmp_path, task, multi_label, name, direction
):
    classes = {"num_classes": 4} if task == "classification" else {}
    dims = {"text": 6, "audio": 4}
    hypermodel = UMDFHyperModel(
        dims,
        task=task,
        multi_label=multi_label,
        search_space=SearchSpace(learning_rate=None),
        **classes,
        **TINY_MODEL,
    )
    tuner = make_tuner(
        "random",
        hypermodel,
        directory=str(tmp_path),
        project_name="trials",
        max_trials=1,
        epochs=1,
        seed=0,
    )
    objective = tuner.oracle.objective
    assert (objective.name, objective.direction) == (name, direction)
    assert "loss" not in objective.name
    # The model each trial builds logs that metric: evaluation returns it
    # ("val_" + name in fit's logs).
    model = hypermodel.build(tuner.oracle.get_space())
    rng = np.random.default_rng(0)
    x = {m: rng.normal(size=(4, 3, d)).astype("float32") for m, d in dims.items()}
    y = {
        "regression": rng.normal(size=(4, 1)).astype("float32"),
        "classification": rng.integers(0, 2, (4, 4)) if multi_label else np.arange(4),
    }[task]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert name.removeprefix("val_") in logs


@pytest.mark.only_backend("torch")
def test_losses_and_metrics_of_another_task_are_refused():
    for metric in ("loss", "val_loss", "task_loss"):
        with pytest.raises(ValueError, match="never a loss"):
            TaskObjective(metric)
    with pytest.raises(ValueError, match="multi-label.*use one of \\['mean_f1'\\]"):
        TaskObjective.for_task("classification", multi_label=True, metric="mae")
    with pytest.raises(ValueError, match="without the 'val_' prefix.*'mae'"):
        TaskObjective("val_mae")
    with pytest.raises(ValueError, match="Unknown objective metric 'acc'"):
        TaskObjective("acc")
    assert TaskObjective("non0_f1").direction == "max"
    assert TaskObjective("mae", incomplete_average=True).name == "val_avg_mae"


@pytest.mark.only_backend("torch")
def test_incomplete_average_is_the_mean_of_the_six_conditions():
    data = synthetic(
        "mosi", seed=1, scale=0.02, sequence_length=6,
        modality_dims={"text": 5, "audio": 3, "vision": 2},
    )  # fmt: skip
    valid = data["valid"]
    model = UMDF(data.modality_dims, **TINY_MODEL)
    model.compile(
        optimizer="adam",
        metrics=[TaskObjective("mae").keras_metric()],
        run_eagerly=False,
    )
    average = IncompleteConditionsAverage(valid, batch_size=2, seed=0)
    train = MaskedPyDataset(data["train"], training=True, batch_size=32, seed=0)
    history = model.fit(
        train,
        validation_data=MaskedPyDataset(valid, training=False, batch_size=8),
        epochs=1,
        verbose=0,
        callbacks=[average],
    )
    # The paper's Avg.: the MAE of each incomplete condition over all clips
    # (NumPy here), then the plain mean over the six conditions.
    labels = np.asarray(valid.labels).reshape(-1)
    per_condition = []
    for condition in INCOMPLETE_CONDITIONS:
        batches = MaskedPyDataset(
            valid, training=False, batch_size=8, condition=condition
        )
        prediction = model.predict(batches, verbose=0).reshape(-1)
        per_condition.append(np.mean(np.abs(prediction - labels)))
    assert len(set(np.round(per_condition, 6))) > 1  # the conditions differ
    np.testing.assert_allclose(
        history.history["val_avg_mae"][0], np.mean(per_condition), rtol=1e-5
    )
    assert history.history["val_avg_mae"][0] != pytest.approx(
        history.history["val_mae"][0]
    )


@pytest.mark.only_backend("torch")
def test_incomplete_average_refuses_conditions_the_data_lacks():
    pair = synthetic(
        "mosi", scale=0.02, sequence_length=4, modality_dims={"text": 3, "audio": 2}
    )
    with pytest.raises(ValueError, match="Condition 'v' keeps \\['vision'\\]"):
        IncompleteConditionsAverage(pair["valid"])
    callback = IncompleteConditionsAverage(pair["valid"], conditions=("l", "a"))
    assert keras.callbacks.Callback in type(callback).__mro__
