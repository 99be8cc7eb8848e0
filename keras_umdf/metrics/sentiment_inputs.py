"""How the sentiment regression metrics read `y_true`, `y_pred` and weights."""

import math

from keras import ops


def _static_size(x):
    shape = tuple(x.shape)
    return math.prod(shape) if all(d is not None for d in shape) else None


def flatten_sentiment(y_true, y_pred, sample_weight, metric_name: str):
    """Flattens labels, predictions and weights of a sentiment batch to (B,).

    A model's (B, 1) prediction and (B,) labels must not broadcast to (B, B):
    every array is reshaped to one score per sample first.

    Args:
        y_true: labels, any shape with B values ((B,) or (B, 1)).
        y_pred: predictions, any shape with B values.
        sample_weight: None or B weights.
        metric_name: the metric's name, for error messages.

    Returns:
        float32 `(y_true, y_pred, weight)`, each (B,); weight is 1 where
        `sample_weight` is None.

    Raises:
        ValueError: the statically known sizes differ (e.g. (B, 2) predictions).
    """
    true_size, pred_size = _static_size(y_true), _static_size(y_pred)
    if true_size is not None and pred_size is not None and true_size != pred_size:
        raise ValueError(
            f"{metric_name} needs one prediction per label (a sentiment score per "
            f"clip); received y_true of shape {tuple(y_true.shape)} and y_pred of "
            f"shape {tuple(y_pred.shape)}."
        )
    y_true = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    y_pred = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
    if sample_weight is None:
        weight = ops.ones_like(y_true)
    else:
        weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        weight = ops.broadcast_to(weight, ops.shape(y_true))
    return y_true, y_pred, weight
