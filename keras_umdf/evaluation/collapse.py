"""Telling a user when a trained model has collapsed, instead of reporting it.

A model that learned nothing useful (inputs on wildly different scales, a
learning rate too high or too low, too few epochs) often settles on predicting
nearly the same value for every clip. Its table looks like any other, so
`collapse_message` looks at what the model predicts on a labelled split under
the complete condition and says so when either holds:

- the predictions are nearly constant: for regression their std is below
  `NEAR_CONSTANT` times the labels' std; for classification every clip gets
  the same class; for multi-label every clip gets the same flags;
- the headline metric (`selection_metric`: MAE, weighted F1, mean F1) is no
  better than the constant baseline's of `mean_baseline`.

`warn_if_collapsed` emits the message as a `ModelCollapseWarning`, and
`check_model_for_collapse` does it for a model and a split; the command line
prints those warnings on stderr. `train_model` checks the kept epoch on the
validation split; `keras-umdf train`, `evaluate`, `reproduce` and the demo check
the tested model on the test split.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from keras_umdf.evaluation.mean_baseline import BASELINE_ROWS
from keras_umdf.evaluation.metric_format import format_metric
from keras_umdf.evaluation.metric_format import metric_label
from keras_umdf.evaluation.task_metrics import selection_metric
from keras_umdf.evaluation.task_metrics import task_metrics

NEAR_CONSTANT = 1e-3
"""Regression predictions whose std is below this fraction of the labels' std
count as a constant."""

ADVICE = (
    "check that the inputs are normalised and that the learning-rate warm-up and "
    "the supervised f_y are on (the defaults; docs/real-data.md), try another "
    "learning rate, or train for more epochs"
)


class ModelCollapseWarning(UserWarning):
    """A trained model predicts nearly a constant, or no better than one."""


def collapse_message(
    predictions,
    labels,
    kind: str,
    baseline_metrics: Mapping[str, float],
    *,
    split: str = "test",
    subject: str = "the model",
    label_names: Sequence[str] | None = None,
) -> str | None:
    """Why a model looks collapsed on a split, or None when it does not.

    Args:
        predictions: the model's outputs on the split under the complete
            condition: (N, 1) scores, (N, C) logits or (N, K, 2) logits.
        labels: the split's labels.
        kind: the task kind (`task_kind`).
        baseline_metrics: the constant baseline's metrics on the same split
            (`mean_baseline(...)["metrics"]`).
        split: the split's name, for the message.
        subject: what the message calls the model, e.g. "UMDF (seed 3)".
        label_names: multi-label only: the K names.

    Returns:
        One sentence naming the figures and what to try, or None.

    Example:

    ```python
    baseline = mean_baseline(data["train"].labels, data["valid"].labels, kind)
    message = collapse_message(model.predict(valid), data["valid"].labels, kind,
                               baseline["metrics"], split="valid")
    ```
    """
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    reasons = []
    constant = _constant_prediction(predictions, labels, kind)
    if constant:
        reasons.append(constant)
    metric, direction = selection_metric(kind)
    with warnings.catch_warnings():
        # The protocol has already said that Corr is undefined for a constant.
        warnings.simplefilter("ignore", RuntimeWarning)
        metrics = task_metrics(predictions, labels, kind, label_names=label_names)
    value, reference = metrics.get(metric), baseline_metrics.get(metric)
    if _finite(value) and _finite(reference):
        no_better = value >= reference if direction == "min" else value <= reference
        if no_better:
            # "Predict the training mean" -> "predicting the training mean"
            baseline = "predicting" + BASELINE_ROWS[kind][len("Predict") :]
            reasons.append(
                f"its {metric_label(metric)} {format_metric(metrics, metric)} is no "
                f"better than {baseline} ({format_metric(baseline_metrics, metric)})"
            )
    if not reasons:
        return None
    return (
        f"{subject} looks collapsed on the {split} split: "
        + " and ".join(reasons)
        + f"; {ADVICE}."
    )


def warn_if_collapsed(
    predictions,
    labels,
    kind: str,
    baseline_metrics: Mapping[str, float],
    *,
    split: str = "test",
    subject: str = "the model",
    label_names: Sequence[str] | None = None,
) -> str | None:
    """`collapse_message` (same arguments), emitted as a `ModelCollapseWarning`
    when it is not None.

    Returns:
        The message, or None.
    """
    message = collapse_message(
        predictions,
        labels,
        kind,
        baseline_metrics,
        split=split,
        subject=subject,
        label_names=label_names,
    )
    if message is not None:
        warnings.warn(message, ModelCollapseWarning, stacklevel=2)
    return message


def check_model_for_collapse(
    model,
    split,
    baseline_metrics: Mapping[str, float],
    *,
    predictions=None,
    split_name: str = "test",
    subject: str = "the model",
    batch_size: int = 128,
    seed: int = 0,
    label_names: Sequence[str] | None = None,
) -> str | None:
    """Warns (`ModelCollapseWarning`) when `model` looks collapsed on `split`.

    Args:
        model: a trained `UMDF`.
        split: a labelled `keras_umdf.data.Split`.
        baseline_metrics: the constant baseline's metrics on `split`.
        predictions: the model's outputs on `split` under the complete
            condition if already computed (e.g. by `evaluate_conditions`'s
            `on_predictions`); None predicts them.
        split_name: the split's name, for the message.
        subject: what the message calls the model.
        batch_size: prediction batch size.
        seed: seed of the (complete-condition) evaluation batches.
        label_names: multi-label only: the K names.

    Returns:
        The message, or None.
    """
    from keras_umdf.evaluation.protocol import predict_split
    from keras_umdf.evaluation.task_metrics import task_kind

    if predictions is None:
        predictions = predict_split(model, split, batch_size=batch_size, seed=seed)
    message = collapse_message(
        predictions,
        split.labels,
        task_kind(model),
        baseline_metrics,
        split=split_name,
        subject=subject,
        label_names=label_names,
    )
    if message is not None:
        warnings.warn(message, ModelCollapseWarning, stacklevel=2)
    return message


def _constant_prediction(predictions, labels, kind: str) -> str | None:
    if len(predictions) < 2:
        return None
    if kind == "regression":
        spread = float(np.std(predictions.astype(np.float64)))
        label_spread = float(np.std(labels.astype(np.float64)))
        if label_spread > 0 and spread < NEAR_CONSTANT * label_spread:
            return (
                f"it predicts nearly a constant (std {spread:.2g}; labels std "
                f"{label_spread:.3g})"
            )
        return None
    if kind == "classification":
        decisions = predictions.argmax(-1) if predictions.ndim == 2 else predictions
        classes = np.unique(decisions)
        if len(classes) == 1:
            return f"it predicts class {int(classes[0])} for every clip"
        return None
    decisions = predictions.argmax(-1) if predictions.ndim == 3 else predictions
    if np.all(decisions == decisions[:1]):
        return "it predicts the same flags for every clip"
    return None


def _finite(value) -> bool:
    return value is not None and bool(np.isfinite(value))
