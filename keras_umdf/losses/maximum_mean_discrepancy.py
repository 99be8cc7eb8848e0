"""Feature distillation: multi-kernel Gaussian MMD (paper Eqs. 1-3)."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export


def _pairwise_squared_distances(z):
    squared_norms = ops.sum(ops.square(z), axis=-1)
    gram = ops.matmul(z, ops.transpose(z))
    distances = squared_norms[:, None] + squared_norms[None, :] - 2.0 * gram
    return ops.maximum(distances, 0.0)


def maximum_mean_discrepancy(x, y, kernel_num: int = 5, kernel_mul: float = 2.0):
    """Squared MMD between two batches of features under a multi-kernel Gaussian.

    The feature distillation loss of UMDF (Eqs. 1-3): the squared RKHS distance
    between the mean embeddings of the two batches, estimated from the samples as
    in Eq. 2 (the plug-in V-statistic `mean K_xx + mean K_yy - 2 mean K_xy`).

    Kernel (assumed; design decision 2, docs/design-decisions.md): the sum of `kernel_num` Gaussian
    kernels `exp(-||u - v||^2 / s_i)` with bandwidths `s_i = base * kernel_mul**i`
    for `i` in `-(kernel_num // 2) .. kernel_num // 2` (-2..2 by default), where
    `base` is the mean squared distance between distinct points of the joint batch
    `[x; y]`. No gradient flows through `base`. Computed in float32 whatever the
    inputs' dtype.

    Args:
        x: (n, D) features of view a (the last frames `h_a`).
        y: (m, D) features of view b (`h_b`).
        kernel_num: number of Gaussian kernels.
        kernel_mul: ratio between neighbouring bandwidths.

    Returns:
        A float32 scalar >= 0 (up to rounding); 0 when the batches are identical.

    Example:

    >>> x = keras.random.normal((8, 4), seed=1)
    >>> float(maximum_mean_discrepancy(x, x))
    0.0
    """
    x = ops.cast(x, "float32")
    y = ops.cast(y, "float32")
    if len(x.shape) != 2 or len(y.shape) != 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(
            "maximum_mean_discrepancy expects two (batch, features) inputs with the "
            f"same feature width; received shapes {tuple(x.shape)} and {tuple(y.shape)}."
        )
    n = ops.shape(x)[0]
    joint = ops.concatenate([x, y], axis=0)
    distances = _pairwise_squared_distances(joint)
    total = ops.cast(ops.shape(joint)[0], "float32")
    # Mean over distinct pairs; the diagonal is zero. Guard against a batch of one
    # point or identical points, whose bandwidth would be zero.
    base = ops.sum(distances) / ops.maximum(total * total - total, 1.0)
    base = ops.maximum(ops.stop_gradient(base), 1e-6)
    kernels = 0.0
    for i in range(-(kernel_num // 2), kernel_num - kernel_num // 2):
        kernels = kernels + ops.exp(-distances / (base * kernel_mul**i))
    k_xx = ops.mean(kernels[:n, :n])
    k_yy = ops.mean(kernels[n:, n:])
    k_xy = ops.mean(kernels[:n, n:])
    return k_xx + k_yy - 2.0 * k_xy


@keras_umdf_export
class MaximumMeanDiscrepancy(keras.losses.Loss):
    """`maximum_mean_discrepancy` as a Keras loss: `loss(h_a, h_b)`.

    The two arguments take the places of `y_true` and `y_pred`; the loss is a
    batch statistic, so no per-sample reduction applies.

    Args:
        kernel_num: number of Gaussian kernels (default 5).
        kernel_mul: ratio between neighbouring bandwidths (default 2.0).
        name: name of the loss.
    """

    def __init__(
        self,
        kernel_num: int = 5,
        kernel_mul: float = 2.0,
        name: str = "maximum_mean_discrepancy",
        **kwargs,
    ):
        super().__init__(name=name, reduction="none", **kwargs)
        self.kernel_num = kernel_num
        self.kernel_mul = kernel_mul

    def call(self, y_true, y_pred):
        return maximum_mean_discrepancy(
            y_true, y_pred, kernel_num=self.kernel_num, kernel_mul=self.kernel_mul
        )

    def get_config(self):
        return {
            "name": self.name,
            "kernel_num": self.kernel_num,
            "kernel_mul": self.kernel_mul,
        }
