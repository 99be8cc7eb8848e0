"""Weighted confusion matrices and the support-weighted F1 computed from them."""

from keras import ops


def confusion_matrix(true_classes, predicted_classes, num_classes: int, weight):
    """Counts of (true class, predicted class) pairs, weighted per sample.

    Args:
        true_classes: integer tensor (..., ) of true class indices.
        predicted_classes: integer tensor of the same shape.
        num_classes: number of classes C. Indices outside [0, C) count nowhere.
        weight: float tensor broadcastable to the class tensors' shape (1 per
            sample for plain counts).

    Returns:
        float32 (C, C) counts, rows the true class and columns the predicted one,
        summed over every axis but the last of the inputs when they are 2-D
        ((B, K) inputs give (K, C, C): one matrix per label).
    """
    true_one_hot = ops.one_hot(ops.cast(true_classes, "int32"), num_classes)
    pred_one_hot = ops.one_hot(ops.cast(predicted_classes, "int32"), num_classes)
    true_one_hot = true_one_hot * ops.expand_dims(ops.cast(weight, "float32"), -1)
    if len(true_one_hot.shape) == 3:
        return ops.einsum("bki,bkj->kij", true_one_hot, pred_one_hot)
    return ops.einsum("bi,bj->ij", true_one_hot, pred_one_hot)


def weighted_f1_from_confusion(matrix):
    """Support-weighted F1 from a (..., C, C) confusion matrix.

    The same as scikit-learn's `f1_score(y_true, y_pred, average="weighted")`
    on the samples the matrix counts: class c's F1 is
    `2 M[c, c] / (sum_j M[c, j] + sum_i M[i, c])` (0 where that is 0 / 0), and the
    classes are weighted by their true support `sum_j M[c, j]`. NaN where the
    matrix counts nothing.

    Args:
        matrix: float (..., C, C) counts, rows the true class.

    Returns:
        float32 (...) weighted F1 in [0, 1].
    """
    matrix = ops.cast(matrix, "float32")
    num_classes = matrix.shape[-1]
    hits = ops.sum(matrix * ops.eye(num_classes, dtype="float32"), axis=-1)
    true_support = ops.sum(matrix, axis=-1)
    pred_support = ops.sum(matrix, axis=-2)
    denominator = true_support + pred_support
    f1 = ops.where(denominator > 0, 2.0 * hits / ops.maximum(denominator, 1e-12), 0.0)
    total = ops.sum(true_support, axis=-1)
    return ops.sum(f1 * true_support, axis=-1) / total
