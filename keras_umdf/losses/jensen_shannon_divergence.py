"""Logits distillation for classification: Jensen-Shannon divergence (Eqs. 4-5)."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export


def jensen_shannon_divergence(a, b, from_logits: bool = True, axis: int = -1):
    """Jensen-Shannon divergence between two categorical distributions (Eq. 5).

    `JS(P || Q) = 0.5 KL(P || M) + 0.5 KL(Q || M)` with `M = (P + Q) / 2`, natural
    logarithm, computed in float32. Symmetric, in `[0, log 2]`. It equals the square
    of `scipy.spatial.distance.jensenshannon(p, q)`.

    Args:
        a: logits (or probabilities with `from_logits=False`) of view a, with the
            classes on `axis`; any leading shape, e.g. (B, C) or (B, K, 2) for
            IEMOCAP's per-emotion binary tasks.
        b: the same for view b.
        from_logits: whether `a` and `b` are logits (softmax is applied) or
            probabilities.
        axis: the class axis.

    Returns:
        The float32 mean of the divergence over every position but `axis`.
    """
    a = ops.cast(a, "float32")
    b = ops.cast(b, "float32")
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            "jensen_shannon_divergence needs two inputs of the same shape; received "
            f"{tuple(a.shape)} and {tuple(b.shape)}."
        )
    if from_logits:
        log_p = ops.log_softmax(a, axis=axis)
        log_q = ops.log_softmax(b, axis=axis)
        p, q = ops.exp(log_p), ops.exp(log_q)
    else:
        p, q = a, b
        log_p = ops.log(ops.maximum(p, 1e-12))
        log_q = ops.log(ops.maximum(q, 1e-12))
    m = 0.5 * (p + q)
    log_m = ops.log(ops.maximum(m, 1e-12))
    divergence = 0.5 * ops.sum(p * (log_p - log_m), axis=axis) + 0.5 * ops.sum(
        q * (log_q - log_m), axis=axis
    )
    return ops.mean(divergence)


@keras_umdf_export
class JensenShannonDivergence(keras.losses.Loss):
    """`jensen_shannon_divergence` as a Keras loss: `loss(logits_a, logits_b)`.

    Args:
        from_logits: whether the inputs are logits (default) or probabilities.
        axis: the class axis.
        name: name of the loss.
    """

    def __init__(
        self,
        from_logits: bool = True,
        axis: int = -1,
        name: str = "jensen_shannon_divergence",
        **kwargs,
    ):
        super().__init__(name=name, reduction="none", **kwargs)
        self.from_logits = from_logits
        self.axis = axis

    def call(self, y_true, y_pred):
        return jensen_shannon_divergence(
            y_true, y_pred, from_logits=self.from_logits, axis=self.axis
        )

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits, "axis": self.axis}
