"""Mean absolute error of sentiment scores, safe for (B, 1) predictions."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.metrics.sentiment_inputs import flatten_sentiment


@keras_umdf_export
class SentimentMAE(keras.metrics.Metric):
    """MAE of sentiment predictions, `mean(|p - t|)`, accumulated over batches.

    Both `y_true` and `y_pred` are reshaped to one score per sample before the
    difference, whatever their ranks: the model's (B, 1) prediction against
    (B,) labels, or MulT's raw (B, 1, 1) labels against a (B,) prediction, give
    the MAE of B pairs. (`keras.metrics.MeanAbsoluteError` aligns ranks that
    differ by one, but broadcasts (B, 1, 1) against (B,) to (B, 1, B) and reports
    a wrong number without an error.) The epoch value equals
    `regression_metrics(...)["mae"]` on all the epoch's samples (no clipping,
    MMSA's definition); with `sample_weight` it is the weighted mean.

    Args:
        name: the key in `fit` logs. Default "mae".
        dtype: the metric's dtype (its result is float32).

    Example:

    ```python
    model = keras_umdf.UMDF(data.modality_dims)
    model.compile(metrics=[keras_umdf.metrics.SentimentMAE()])
    model.fit(train, validation_data=valid)  # logs "mae" and "val_mae"
    ```
    """

    def __init__(self, name: str = "mae", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", dtype="float32", name="total")
        self.count = self.add_variable((), "zeros", dtype="float32", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, weight = flatten_sentiment(
            y_true, y_pred, sample_weight, type(self).__name__
        )
        self.total.assign(self.total + ops.sum(weight * ops.abs(y_pred - y_true)))
        self.count.assign(self.count + ops.sum(weight))

    def result(self):
        return ops.divide(self.total, self.count)
