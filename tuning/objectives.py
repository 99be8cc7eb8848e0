"""`TaskObjective`: what a UMDF search optimises, a validation task metric.

Never `val_loss`: UMDF's training loss adds the lambda-weighted distillation
terms, so a loss-based objective would compare searches of lambda on different
scales and reward small lambdas. The objective is the task metric of the
validation split (Keras metrics of `keras_umdf.metrics`, logged as
"val_<name>"), or its mean over the six incomplete-modality test conditions
(logged as "val_avg_<name>" by `IncompleteConditionsAverage`).
"""

from __future__ import annotations

import dataclasses

from keras_umdf.evaluation.task_metrics import LOGGED_TASK_METRICS
from keras_umdf.evaluation.task_metrics import selection_metric

# Metric name in the logs -> (direction, the task it scores): the metrics a
# training run logs and selects its epoch by, so a search and `train_model`
# rank models alike.
OBJECTIVE_METRICS = LOGGED_TASK_METRICS
"""The task metrics a search can optimise: name -> (direction, kind of task).

"mae" (`SentimentMAE`) and "non0_f1" (`SentimentF1(exclude_zero=True)`, the
positive/negative F1 of the UMDF tables) score sentiment regression;
"weighted_f1" (`ClassificationF1`) single-label classification; "mean_f1"
(`MultiLabelF1`, the mean over labels of each label's weighted F1) multi-label
classification such as IEMOCAP.
"""

LOSS_NAMES = ("loss", "task_loss", "fea_loss", "logits_loss")


@dataclasses.dataclass(frozen=True)
class TaskObjective:
    """The validation task metric a UMDF search optimises, with its direction.

    Args:
        metric: a name of `OBJECTIVE_METRICS`: "mae" (regression, the
            default), "non0_f1", "weighted_f1" (classification) or "mean_f1"
            (multi-label).
        incomplete_average: optimise the metric's mean over the six
            incomplete-modality conditions of the paper's protocol ({l}, {a},
            {v}, {l,a}, {l,v}, {a,v}: the "Avg." column, what UMDF is for)
            instead of its value on the complete validation split. Costs six
            extra validation passes per epoch.

    Example:

    ```python
    objective = TaskObjective.for_task("regression")  # val_mae, min
    objective.name, objective.direction  # ("val_mae", "min")
    TaskObjective("mae", incomplete_average=True).name  # "val_avg_mae"
    ```
    """

    metric: str = "mae"
    incomplete_average: bool = False

    def __post_init__(self) -> None:
        if self.metric.startswith("val_") and self.metric[4:] in OBJECTIVE_METRICS:
            raise ValueError(
                f"Name the metric without the 'val_' prefix (the objective is always "
                f"measured on the validation split): {self.metric[4:]!r}; received "
                f"{self.metric!r}."
            )
        if self.metric in LOSS_NAMES or self.metric.startswith("val_"):
            raise ValueError(
                f"The objective is a task metric, never a loss; received "
                f"metric={self.metric!r}. The training loss adds the lambda-weighted "
                "distillation terms and would reward small lambdas; use one of "
                f"{sorted(OBJECTIVE_METRICS)}."
            )
        if self.metric not in OBJECTIVE_METRICS:
            raise ValueError(
                f"Unknown objective metric {self.metric!r}; use one of "
                f"{sorted(OBJECTIVE_METRICS)}."
            )
        if not isinstance(self.incomplete_average, bool):
            raise ValueError(
                "incomplete_average must be True or False; received "
                f"{self.incomplete_average!r}."
            )

    @classmethod
    def for_task(
        cls,
        task: str,
        multi_label: bool = False,
        metric: str | None = None,
        incomplete_average: bool = False,
    ) -> TaskObjective:
        """The objective for a task: MAE for regression, F1 for classification.

        Args:
            task: "regression" or "classification".
            multi_label: whether the classification is multi-label.
            metric: a metric name to use instead of the task's default; it must
                fit the task.
            incomplete_average: see the class arguments.

        Raises:
            ValueError: `metric` does not score this task.
        """
        kind = "multi_label" if multi_label else task
        if kind not in {k for _, k in OBJECTIVE_METRICS.values()}:
            raise ValueError(
                f"task must be 'regression' or 'classification'; received {task!r}."
            )
        default, _ = selection_metric(kind)
        objective = cls(metric or default, incomplete_average)
        if objective.kind != kind:
            fitting = sorted(n for n, (_, k) in OBJECTIVE_METRICS.items() if k == kind)
            raise ValueError(
                f"The objective metric {objective.metric!r} scores "
                f"{objective.kind.replace('_', '-')} tasks, but this dataset is "
                f"{kind.replace('_', '-')}; use one of {fitting}."
            )
        return objective

    @property
    def direction(self) -> str:
        """ "min" or "max"."""
        return OBJECTIVE_METRICS[self.metric][0]

    @property
    def kind(self) -> str:
        """ "regression", "classification" or "multi_label"."""
        return OBJECTIVE_METRICS[self.metric][1]

    @property
    def name(self) -> str:
        """The key of the objective in the `fit` logs, e.g. "val_mae"."""
        return ("val_avg_" if self.incomplete_average else "val_") + self.metric

    def keras_metric(self, num_classes: int | None = None):
        """A fresh instance of the Keras metric that logs `metric`.

        Args:
            num_classes: the number of classes (or labels) for the F1 metrics
                of classification.
        """
        from keras_umdf import metrics

        if self.metric == "mae":
            return metrics.SentimentMAE()
        if self.metric == "non0_f1":
            return metrics.SentimentF1(exclude_zero=True)
        if num_classes is None:
            raise ValueError(
                f"The {self.metric!r} objective needs num_classes (the number of "
                "classes or labels of the dataset); received None."
            )
        if self.metric == "weighted_f1":
            return metrics.ClassificationF1(num_classes)
        return metrics.MultiLabelF1(num_classes)

    def to_keras_tuner(self):
        """The `keras_tuner.Objective` with this name and direction."""
        import keras_tuner

        return keras_tuner.Objective(self.name, direction=self.direction)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "direction": self.direction,
            "metric": self.metric,
            "incomplete_average": self.incomplete_average,
        }
