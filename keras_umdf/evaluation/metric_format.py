"""How conditions and metrics read in the reports: "{l,a}", "MAE", "82.92 ± 0.41"."""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence

from keras_umdf.evaluation.task_metrics import headline_metrics

_METRIC_NAMES = {
    "mae": "MAE",
    "corr": "Corr",
    "acc7": "Acc-7",
    "acc5": "Acc-5",
    "has0_acc2": "Has0 Acc-2",
    "has0_f1": "Has0 F1",
    "non0_acc2": "Acc-2",
    "non0_f1": "F1",
    "accuracy": "Acc",
    "weighted_f1": "F1",
    "mean_acc": "mean Acc",
    "mean_f1": "mean F1",
}
_UNSCALED = ("mae", "corr")


def format_condition(condition: str) -> str:
    """The paper's heading of a condition: "la" -> "{l,a}", "avg" -> "Avg."."""
    if condition == "avg":
        return "Avg."
    if set(condition) <= set("lav"):
        return "{" + ",".join(condition) + "}"
    return condition


def metric_label(metric: str) -> str:
    """A short display name: "mae" -> "MAE", "non0_f1" -> "F1",
    "happy_f1" -> "Happy F1"."""
    if metric in _METRIC_NAMES:
        return _METRIC_NAMES[metric]
    for suffix, label in (("_f1", "F1"), ("_acc", "Acc")):
        if metric.endswith(suffix):
            return f"{metric[: -len(suffix)].capitalize()} {label}"
    return metric


def format_metric(
    metrics: Mapping[str, float] | None, metric: str, *, digits: int | None = None
) -> str:
    """One cell: MAE and Corr as they are (3 decimals), accuracies and F1 in
    percent (2 decimals), "± std" when the dict holds "<metric>_std"; "-" when
    the value is missing or NaN."""
    if not metrics or metric not in metrics:
        return "-"
    value = metrics[metric]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    scale = 1.0 if metric in _UNSCALED else 100.0
    if digits is None:
        digits = 3 if metric in _UNSCALED else 2
    text = f"{scale * value:.{digits}f}"
    std = metrics.get(f"{metric}_std")
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ± {scale * std:.{digits}f}"
    return text


def describe_metrics(
    metrics: Mapping[str, float],
    kind: str,
    *,
    label_names: Sequence[str] | None = None,
) -> str:
    """The headline metrics of a task as one line, e.g. "MAE 0.832, F1 82.92"."""
    return ", ".join(
        f"{metric_label(m)} {format_metric(metrics, m)}"
        for m in headline_metrics(kind, label_names=label_names)
    )
