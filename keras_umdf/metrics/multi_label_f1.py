"""Mean over labels of the weighted binary F1 (IEMOCAP's per-emotion F1)."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.metrics.confusion_matrix import confusion_matrix
from keras_umdf.metrics.confusion_matrix import weighted_f1_from_confusion


@keras_umdf_export
class MultiLabelF1(keras.metrics.Metric):
    """Mean over K labels of each label's weighted binary F1, over a whole epoch.

    For each label, the prediction is the argmax over (absent, present) of its
    two logits, and its F1 is the support-weighted F1 of "absent" and "present"
    (MulT's IEMOCAP F1). One 2 x 2 confusion matrix per label accumulates across
    batches, so the epoch value equals `multilabel_metrics(...)["mean_f1"]` on
    all the epoch's samples. NaN while no sample has counted.

    Args:
        num_labels: the number of labels K (4 for IEMOCAP).
        name: the key in `fit` logs. Default "mean_f1".
        dtype: the metric's dtype (its result is float32).

    Example:

    ```python
    model = keras_umdf.UMDF(dims, task="classification", num_classes=4,
                            multi_label=True)
    model.compile(metrics=[keras_umdf.metrics.MultiLabelF1(4)])
    ```
    """

    def __init__(self, num_labels: int, name: str = "mean_f1", dtype=None):
        num_labels = check_int("num_labels", num_labels)
        super().__init__(name=name, dtype=dtype)
        self.num_labels = num_labels
        self.matrix = self.add_variable(
            (num_labels, 2, 2), "zeros", dtype="float32", name="matrix"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        if len(y_pred.shape) != 3 or tuple(y_pred.shape[1:]) not in (
            (self.num_labels, 2),
            (None, 2),
        ):
            raise ValueError(
                f"MultiLabelF1({self.num_labels}) needs y_pred of shape "
                f"(B, {self.num_labels}, 2), logits over (absent, present); "
                f"received {tuple(y_pred.shape)}."
            )
        predicted = ops.argmax(y_pred, axis=-1)
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1, self.num_labels))
        if sample_weight is None:
            weight = ops.ones(ops.shape(y_true), dtype="float32")
        else:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
            weight = ops.broadcast_to(weight, ops.shape(y_true))
        update = confusion_matrix(y_true, predicted, 2, weight)
        self.matrix.assign(self.matrix + update)

    def result(self):
        return ops.mean(weighted_f1_from_confusion(self.matrix))

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels}
