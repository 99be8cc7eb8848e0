"""Binary accuracy of sentiment polarity (MMSA's Non0 / Has0 Acc-2)."""

from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.metrics.polarity_confusion_matrix import PolarityConfusionMatrix


@keras_umdf_export
class SentimentAccuracy2(PolarityConfusionMatrix):
    """Acc-2: the fraction of samples whose predicted polarity is right.

    Equals `regression_metrics(...)["non0_acc2"]` (or `"has0_acc2"`) on all the
    epoch's samples. NaN while no sample has counted.

    Args:
        exclude_zero: True (default): Non0 Acc-2, samples labelled 0 skipped,
            positive is `> 0`. False: Has0 Acc-2, positive is `>= 0`.
        name: the key in `fit` logs. Default "non0_acc2" or "has0_acc2".
        dtype: the metric's dtype (its result is float32).

    Example:

    ```python
    model.compile(metrics=[keras_umdf.metrics.SentimentAccuracy2()])
    ```
    """

    def __init__(self, exclude_zero: bool = True, name: str | None = None, dtype=None):
        default = "non0_acc2" if exclude_zero is True else "has0_acc2"
        super().__init__(exclude_zero=exclude_zero, name=name or default, dtype=dtype)

    def result(self):
        hits = self.matrix[0, 0] + self.matrix[1, 1]
        return ops.divide(hits, ops.sum(self.matrix))
