"""One entry point for the metrics of every task: regression, classes, IEMOCAP."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.evaluation.classification_metrics import classification_metrics
from keras_umdf.evaluation.classification_metrics import multilabel_metrics
from keras_umdf.evaluation.regression_metrics import regression_metrics

TASK_KINDS = ("regression", "classification", "multi_label")
"""What a model predicts: a sentiment score, one class, or K absent/present flags."""

LOGGED_TASK_METRICS = {
    "mae": ("min", "regression"),
    "non0_f1": ("max", "regression"),
    "weighted_f1": ("max", "classification"),
    "mean_f1": ("max", "multi_label"),
}
"""The task metrics `fit` logs, by name: (direction, task kind).

They are the Keras metrics a training run compiles (`keras_umdf.metrics`):
"mae" (`SentimentMAE`) and "non0_f1" (`SentimentF1(exclude_zero=True)`, the
positive/negative F1 of the UMDF tables) for sentiment regression,
"weighted_f1" (`ClassificationF1`) for single-label classification, "mean_f1"
(`MultiLabelF1`, the mean over labels of each label's weighted F1) for
multi-label classification such as IEMOCAP. Validation logs them as
"val_<name>". The first of a kind is its headline metric (`selection_metric`).
"""


def selection_metric(kind: str) -> tuple[str, str]:
    """The validation task metric that ranks a task's models, and its direction.

    ("mae", "min") for regression, ("weighted_f1", "max") for classification,
    ("mean_f1", "max") for multi-label: never the loss, whose distillation
    terms are not the task. A training run keeps the epoch where "val_<name>"
    is best (as MulT and MMSA keep the epoch of the best validation score), and
    a hyperparameter search optimises the same metric by default.

    Raises:
        ValueError: an unknown kind.
    """
    for name, (direction, metric_kind) in LOGGED_TASK_METRICS.items():
        if metric_kind == kind:
            return name, direction
    raise ValueError(f"kind must be one of {TASK_KINDS}; received kind={kind!r}.")


def task_kind(model_or_data) -> str:
    """The task kind of a `UMDF` model or a `MultimodalDataset`.

    Both carry `task` ("regression" or "classification") and `multi_label`;
    multi-label classification (IEMOCAP's four emotions) is "multi_label".

    Raises:
        ValueError: the object has no `task`, or an unknown one.
    """
    task = getattr(model_or_data, "task", None)
    if task == "regression":
        return "regression"
    if task == "classification":
        return (
            "multi_label"
            if getattr(model_or_data, "multi_label", False)
            else "classification"
        )
    raise ValueError(
        f"Cannot tell the task of {type(model_or_data).__name__}: it has "
        f"task={task!r}; expected a keras_umdf model or MultimodalDataset with "
        "task 'regression' or 'classification'."
    )


def task_metrics(
    predictions,
    labels,
    kind: str,
    *,
    label_names: Sequence[str] | None = None,
) -> dict[str, float]:
    """The field's metrics for one task kind, as the paper's tables use them.

    - "regression" (MOSI, MOSEI): `regression_metrics` (MAE, Corr, Acc-7/5,
      Has0 / Non0 Acc-2 and F1; MMSA's definitions).
    - "classification": `classification_metrics` (accuracy, weighted F1).
    - "multi_label" (IEMOCAP): `multilabel_metrics`, per emotion accuracy and
      weighted F1 of the argmax over (absent, present), and their means.

    Args:
        predictions: the model's outputs: (N, 1) scores, (N, C) logits or
            (N, K, 2) logits.
        labels: the split's labels: (N,) scores or class indices, (N, K) flags.
        kind: one of `TASK_KINDS` (see `task_kind`).
        label_names: multi-label only: the K names (default IEMOCAP's
            neutral, happy, sad, angry).

    Returns:
        A dict of floats (fractions in [0, 1], MAE in label units).

    Raises:
        ValueError: an unknown kind, or what the metric function raises.

    Example:

    ```python
    kind = task_kind(model)
    metrics = task_metrics(model.predict(test), data["test"].labels, kind)
    ```
    """
    if kind == "regression":
        return regression_metrics(predictions, labels)
    if kind == "classification":
        return classification_metrics(predictions, labels)
    if kind == "multi_label":
        names = tuple(label_names or IEMOCAP_EMOTIONS)
        return multilabel_metrics(predictions, labels, label_names=names)
    raise ValueError(f"kind must be one of {TASK_KINDS}; received kind={kind!r}.")


def headline_metrics(
    kind: str, *, label_names: Sequence[str] | None = None
) -> tuple[str, ...]:
    """The metrics the paper's tables and figures show for a task kind.

    - regression: ("mae", "non0_f1"): MAE and the F1 of positive against
      negative sentiment with the neutral (label 0) clips left out, in the
      paper's Table 1 and Figure 3.
    - classification: ("accuracy", "weighted_f1").
    - multi_label: ("<name>_f1", ...) for each emotion, Table 2 and Figure 4.
    """
    if kind == "regression":
        return ("mae", "non0_f1")
    if kind == "classification":
        return ("accuracy", "weighted_f1")
    if kind == "multi_label":
        return tuple(f"{name}_f1" for name in (label_names or IEMOCAP_EMOTIONS))
    raise ValueError(f"kind must be one of {TASK_KINDS}; received kind={kind!r}.")


def summary_metric(kind: str) -> str:
    """The one metric of a task kind in the ablation table (the paper's Table 3
    shows the F1 alone): "non0_f1", "weighted_f1" or "mean_f1"."""
    if kind not in TASK_KINDS:
        raise ValueError(f"kind must be one of {TASK_KINDS}; received kind={kind!r}.")
    return {
        "regression": "non0_f1",
        "classification": "weighted_f1",
        "multi_label": "mean_f1",
    }[kind]


def check_labels_fit(kind: str, labels) -> None:
    """Raises a clear ValueError when a split's labels do not fit the task kind.

    Regression needs float scores, classification integer (N,) classes,
    multi-label integer (N, K) flags: e.g. a sentiment model tested on IEMOCAP.
    """
    labels = np.asarray(labels)
    floating = np.issubdtype(labels.dtype, np.floating)
    fits = {
        "regression": floating and (labels.ndim == 1 or labels.shape[1:] == (1,)),
        "classification": not floating and labels.ndim == 1,
        "multi_label": not floating and labels.ndim == 2,
    }.get(kind)
    if fits is None:
        raise ValueError(f"kind must be one of {TASK_KINDS}; received kind={kind!r}.")
    if not fits:
        raise ValueError(
            f"The model's task is {kind!r} but the data's labels are "
            f"{labels.dtype} with shape {labels.shape}; evaluate a model on data "
            "of the task it was trained for (sentiment scores for regression, "
            "class indices or (N, K) flags for classification)."
        )
