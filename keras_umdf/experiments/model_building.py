"""The compiled `UMDF` of a training run, with the Keras metrics of its task."""

from __future__ import annotations

from collections.abc import Mapping

from keras_umdf import optimizers
from keras_umdf.evaluation.task_metrics import task_kind
from keras_umdf.optimizers import WARMUP_STEPS


def build_model(
    data,
    settings: Mapping,
    model_arguments: Mapping | None = None,
    train_split=None,
):
    """A compiled `UMDF` for `data` with the run's settings.

    The input normalisation is on (`normalize_inputs=True`, unless
    `model_arguments` turn it off), fitted on `train_split` (default
    `data["train"]`): the clips the run trains on. Adam with the settings'
    learning rate, warmed up over `settings["warmup_steps"]` updates (default
    `keras_umdf.optimizers.WARMUP_STEPS`; 0: none); the task's Keras metrics
    in the `fit` logs: MAE and Non0 F1 (regression), weighted F1
    (classification), mean per-label F1 (multi-label).
    """
    import keras_umdf

    arguments = {
        "num_heads": settings["num_heads"],
        "hidden_dim": settings["hidden_dim"],
        "num_layers": settings["num_layers"],
        "normalize_inputs": True,
        **dict(model_arguments or {}),
    }
    model = keras_umdf.UMDF.for_dataset(data, **arguments)
    if (
        model.normalize_inputs
        and train_split is not None
        and train_split is not data["train"]
    ):
        # `for_dataset` fitted the whole training split; a run on a subset
        # fits the clips it trains on.
        model.adapt(train_split)
    model.compile(
        optimizer=optimizers.adam(
            settings["learning_rate"],
            settings.get("warmup_steps", WARMUP_STEPS),
        ),
        metrics=task_keras_metrics(data),
    )
    return model


def task_keras_metrics(data) -> list:
    """The Keras metrics of a dataset's task for `compile`."""
    from keras_umdf import metrics

    kind = task_kind(data)
    if kind == "regression":
        return [metrics.SentimentMAE(), metrics.SentimentF1(exclude_zero=True)]
    if kind == "classification":
        return [metrics.ClassificationF1(data.num_classes)]
    return [metrics.MultiLabelF1(data.num_classes)]
