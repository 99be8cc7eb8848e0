"""Weighted binary F1 of sentiment polarity (MMSA's Non0 / Has0 F1)."""

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.metrics.confusion_matrix import weighted_f1_from_confusion
from keras_umdf.metrics.polarity_confusion_matrix import PolarityConfusionMatrix


@keras_umdf_export
class SentimentF1(PolarityConfusionMatrix):
    """Support-weighted F1 of negative/positive sentiment, over a whole epoch.

    The F1 the UMDF tables report: the F1 of the negative and of the positive
    class, weighted by their true support (scikit-learn's
    `average="weighted"`, truth first). Counts accumulate across batches, so the
    epoch value equals `regression_metrics(...)["non0_f1"]` (or `"has0_f1"`) on
    all the epoch's samples; a mean of per-batch F1 would not. NaN while no
    sample has counted (e.g. every label 0 with `exclude_zero=True`).

    Args:
        exclude_zero: True (default): Non0 F1, samples labelled 0 skipped,
            positive is `> 0`. False: Has0 F1, positive is `>= 0`.
        name: the key in `fit` logs. Default "non0_f1" or "has0_f1".
        dtype: the metric's dtype (its result is float32).

    Example:

    ```python
    model.compile(metrics=[keras_umdf.metrics.SentimentF1()])  # logs "non0_f1"
    ```
    """

    def __init__(self, exclude_zero: bool = True, name: str | None = None, dtype=None):
        default = "non0_f1" if exclude_zero is True else "has0_f1"
        super().__init__(exclude_zero=exclude_zero, name=name or default, dtype=dtype)

    def result(self):
        return weighted_f1_from_confusion(self.matrix)
