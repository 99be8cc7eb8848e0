"""Support-weighted F1 of single-label classification from logits."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.metrics.confusion_matrix import confusion_matrix
from keras_umdf.metrics.confusion_matrix import weighted_f1_from_confusion


@keras_umdf_export
class ClassificationF1(keras.metrics.Metric):
    """Weighted F1 of the argmax of (B, C) logits, accumulated over batches.

    Accumulates the C x C confusion matrix across batches, so the epoch value
    equals `classification_metrics(...)["weighted_f1"]` (scikit-learn's
    `f1_score(labels, argmax, average="weighted")`) on all the epoch's samples.
    Labels outside [0, C) are not counted. NaN while no sample has counted.

    Args:
        num_classes: the number of classes C (the logits' last axis).
        name: the key in `fit` logs. Default "weighted_f1".
        dtype: the metric's dtype (its result is float32).

    Example:

    ```python
    model = keras_umdf.UMDF(dims, task="classification", num_classes=3)
    model.compile(metrics=[keras_umdf.metrics.ClassificationF1(3)])
    ```
    """

    def __init__(self, num_classes: int, name: str = "weighted_f1", dtype=None):
        num_classes = check_int("num_classes", num_classes, minimum=2)
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.matrix = self.add_variable(
            (num_classes, num_classes), "zeros", dtype="float32", name="matrix"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        if len(y_pred.shape) != 2 or y_pred.shape[-1] not in (None, self.num_classes):
            raise ValueError(
                f"ClassificationF1({self.num_classes}) needs y_pred of shape "
                f"(B, {self.num_classes}); received {tuple(y_pred.shape)}."
            )
        predicted = ops.argmax(y_pred, axis=-1)
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        if sample_weight is None:
            weight = ops.ones(ops.shape(y_true), dtype="float32")
        else:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        update = confusion_matrix(y_true, predicted, self.num_classes, weight)
        self.matrix.assign(self.matrix + update)

    def result(self):
        return weighted_f1_from_confusion(self.matrix)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
