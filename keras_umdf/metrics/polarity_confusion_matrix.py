"""The negative/positive confusion counts behind Acc-2 and F1 of sentiment."""

import keras
from keras import ops

from keras_umdf.metrics.confusion_matrix import confusion_matrix
from keras_umdf.metrics.sentiment_inputs import flatten_sentiment


class PolarityConfusionMatrix(keras.metrics.Metric):
    """Base of `SentimentF1` and `SentimentAccuracy2`: the 2 x 2 polarity counts.

    Accumulates, across batches, the (weighted) counts of (true polarity,
    predicted polarity) with MMSA's two conventions:

    - `exclude_zero=True` (Non0): samples whose label is exactly 0 are skipped,
      positive means `> 0`;
    - `exclude_zero=False` (Has0): every sample counts, positive means `>= 0`.

    Subclasses turn the counts into a score in `result()`. Counts are float32:
    exact up to 2**24 (about 16.7 million) samples.

    Args:
        exclude_zero: the Non0 (True) or Has0 (False) convention.
        name: the key in `fit` logs.
        dtype: the metric's dtype.
    """

    def __init__(self, exclude_zero: bool = True, name: str | None = None, dtype=None):
        if not isinstance(exclude_zero, bool):
            raise ValueError(
                f"exclude_zero must be True (Non0) or False (Has0); received "
                f"{exclude_zero!r}."
            )
        super().__init__(name=name, dtype=dtype)
        self.exclude_zero = exclude_zero
        self.matrix = self.add_variable(
            (2, 2), "zeros", dtype="float32", name="confusion_matrix"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, weight = flatten_sentiment(
            y_true, y_pred, sample_weight, type(self).__name__
        )
        if self.exclude_zero:
            weight = weight * ops.cast(ops.not_equal(y_true, 0.0), "float32")
            true_positive, pred_positive = y_true > 0, y_pred > 0
        else:
            true_positive, pred_positive = y_true >= 0, y_pred >= 0
        update = confusion_matrix(true_positive, pred_positive, 2, weight)
        self.matrix.assign(self.matrix + update)

    def get_config(self):
        return {**super().get_config(), "exclude_zero": self.exclude_zero}
