"""Rank-N-Contrast (Zha et al., NeurIPS 2023): order representations like labels."""

from __future__ import annotations

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export

SIMILARITIES = ("l2", "cosine")
TIE_TOLERANCE = 1e-6
"""Label distances closer than this count as equal (float rounding of label grids
such as MOSI's steps of 0.2 would otherwise split true ties)."""


def rank_n_contrast(
    features,
    labels,
    temperature: float = 2.0,
    similarity: str = "l2",
    mask=None,
):
    """The Rank-N-Contrast loss: representations ranked by their labels' distances.

    Zha et al., "Rank-N-Contrast: Learning Continuous Representations for
    Regression", NeurIPS 2023; SDUMC applies it to the representations of its
    two flows. For N representations v_1..v_N with labels y_1..y_N, every anchor
    i and every other sample j != i give one term

        -log( exp(s(v_i, v_j) / tau)
              / sum over k != i with d(y_i, y_k) >= d(y_i, y_j) of
                exp(s(v_i, v_k) / tau) )

    and the loss is the mean over the N (N - 1) ordered pairs (i, j): each j is
    contrasted with every sample ranked at least as far from the anchor by label,
    so minimising it orders the representations like the labels. `d` is the L1
    distance of the labels (summed over label dimensions) and `s` the similarity
    of the representations: the negative Euclidean distance (`"l2"`, the paper's
    default) or the cosine similarity (`"cosine"`). Label distances within
    1e-6 of each other count as ties (the comparison is then `>=`, so a tie is in
    the denominator).

    Two views: `features` of shape (B, V, D) holds V views of each of B samples
    (SDUMC: its two flows); they become N = V * B representations, view by view
    (all samples of view 0, then view 1, ...), each with its sample's label, so
    two views of one sample are each other's nearest positives (label distance 0).

    Memory: O(N^2) for N representations (the pairwise similarities, one sort
    per anchor and cumulative sums over it; never the N^3 triples of the
    definition); time O(N^2 log N). Computed in float32 whatever the inputs'
    dtype. With `"l2"`, pairs of representations more than about 170 * tau apart
    lose precision (their exponential underflows); the loss stays finite.

    Args:
        features: (N, D) representations, or (B, V, D) for V views per sample.
        labels: (N,) or (N, L) continuous labels (for (B, V, D) features: (B,)
            or (B, L)).
        temperature: tau > 0 (default 2.0, as SDUMC uses it).
        similarity: "l2" (negative Euclidean distance) or "cosine".
        mask: optional (N,) (or (B,) for views) with 1/True for the samples to
            use; the others are neither anchors, nor positives, nor in any
            denominator (e.g. padding samples). With fewer than two valid samples
            the loss is 0.

    Returns:
        A float32 scalar >= 0.

    Example:

    ```python
    flows = keras.ops.stack([z_flow0, z_flow1], axis=1)  # (B, 2, D)
    loss = rank_n_contrast(flows, y, temperature=2.0)
    ```
    """
    if similarity not in SIMILARITIES:
        raise ValueError(
            f"similarity must be one of {SIMILARITIES}; received {similarity!r}."
        )
    _check_temperature(temperature)
    features = ops.cast(features, "float32")
    labels = ops.cast(labels, "float32")
    if len(features.shape) not in (2, 3):
        raise ValueError(
            "rank_n_contrast expects features (N, D) or (B, V, D) for V views; "
            f"received shape {tuple(features.shape)}."
        )
    if len(labels.shape) == 1:
        labels = labels[:, None]
    if len(labels.shape) != 2:
        raise ValueError(
            "rank_n_contrast expects labels (N,) or (N, L); received shape "
            f"{tuple(labels.shape)}."
        )
    _check_same_batch(features.shape[0], labels.shape[0], "labels")
    if mask is not None:
        mask = ops.reshape(ops.cast(mask, "float32"), (-1,))
        _check_same_batch(features.shape[0], mask.shape[0], "mask")
    if len(features.shape) == 3:
        views = features.shape[1]
        if views is None:
            raise ValueError(
                "rank_n_contrast needs a known number of views (axis 1 of "
                "(B, V, D) features)."
            )
        features = ops.concatenate([features[:, v] for v in range(views)], axis=0)
        labels = ops.concatenate([labels] * views, axis=0)
        if mask is not None:
            mask = ops.concatenate([mask] * views, axis=0)

    n = ops.shape(features)[0]
    if similarity == "l2":
        squared_norms = ops.sum(ops.square(features), axis=-1)
        squared = (
            squared_norms[:, None]
            + squared_norms[None, :]
            - 2.0 * ops.matmul(features, ops.transpose(features))
        )
        # Clamped below so that the square root's gradient is finite at 0 (the
        # diagonal, duplicates); the clamp's own gradient there is 0.
        logits = -ops.sqrt(ops.maximum(squared, 1e-12)) / temperature
    else:
        norms = ops.sqrt(ops.maximum(ops.sum(ops.square(features), -1), 1e-12))
        unit = features / norms[:, None]
        logits = ops.matmul(unit, ops.transpose(unit)) / temperature
    # Each row's largest logit is its diagonal (distance 0, cosine 1): a shift
    # that keeps every exponential <= 1. It cancels in the loss.
    logits = logits - ops.stop_gradient(ops.max(logits, axis=1, keepdims=True))

    eye = ops.eye(n, dtype="float32")
    valid = ops.ones((n,), "float32") if mask is None else mask
    # pairs[i, k] = 1 where k may appear for anchor i: k != i, both valid.
    pairs = (1.0 - eye) * valid[:, None] * valid[None, :]
    exp_logits = ops.exp(logits) * pairs
    distances = ops.sum(ops.abs(labels[:, None, :] - labels[None, :, :]), axis=-1)
    denominators = _sum_over_farther(distances, exp_logits, n)
    safe = ops.where(pairs > 0, ops.maximum(denominators, 1e-30), 1.0)
    per_pair = (ops.log(safe) - logits) * pairs
    return ops.sum(per_pair) / ops.maximum(ops.sum(pairs), 1.0)


def _sum_over_farther(distances, values, n):
    """out[i, j] = sum over k with distances[i, k] >= distances[i, j] of
    values[i, k], in O(N^2) memory.

    Each row is sorted by distance; tied distances form one group (ids from a
    cumulative sum of "a new distance starts here"); the groups' sums, summed from
    the farthest group down, give every member of a group the same total.
    """
    order = ops.argsort(distances, axis=1)
    sorted_distances = ops.take_along_axis(distances, order, axis=1)
    sorted_values = ops.take_along_axis(values, order, axis=1)
    steps = sorted_distances[:, 1:] - sorted_distances[:, :-1]
    starts = ops.concatenate(
        [
            ops.ones_like(sorted_distances[:, :1], dtype="int32"),
            ops.cast(steps > TIE_TOLERANCE, "int32"),
        ],
        axis=1,
    )
    group = ops.cumsum(starts, axis=1) - 1  # (N, N), 0 .. N - 1 per row
    rows = ops.arange(n, dtype="int32")[:, None] * ops.cast(n, "int32")
    segment_ids = ops.reshape(group + rows, (-1,))
    group_sums = ops.segment_sum(
        ops.reshape(sorted_values, (-1,)), segment_ids, num_segments=n * n
    )
    group_sums = ops.reshape(group_sums, (n, n))
    from_farthest = ops.flip(ops.cumsum(ops.flip(group_sums, axis=1), axis=1), axis=1)
    sorted_totals = ops.take_along_axis(from_farthest, group, axis=1)
    inverse = ops.argsort(order, axis=1)
    return ops.take_along_axis(sorted_totals, inverse, axis=1)


def _check_temperature(temperature) -> None:
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not temperature > 0
    ):
        raise ValueError(
            f"temperature must be a number > 0; received temperature={temperature!r}."
        )


def _check_same_batch(expected, received, what: str) -> None:
    if expected is not None and received is not None and expected != received:
        raise ValueError(
            f"rank_n_contrast: {what} has {received} samples but the features have "
            f"{expected}; pass one {what} entry per sample (not per view)."
        )


@keras_umdf_export
class RankNContrast(keras.losses.Loss):
    """`rank_n_contrast` as a Keras loss: `loss(labels, features)`.

    The labels take the place of `y_true` and the representations that of
    `y_pred`; the loss is a batch statistic, so no per-sample reduction applies.
    See `rank_n_contrast` for the definition, the two-view form (B, V, D) and the
    O(N^2) memory.

    Args:
        temperature: tau > 0 (default 2.0).
        similarity: "l2" (negative Euclidean distance, default) or "cosine".
        name: name of the loss.

    Example:

    ```python
    loss = RankNContrast(temperature=2.0)
    loss(y, keras.ops.stack([z_flow0, z_flow1], axis=1))
    ```
    """

    def __init__(
        self,
        temperature: float = 2.0,
        similarity: str = "l2",
        name: str = "rank_n_contrast",
        **kwargs,
    ):
        super().__init__(name=name, reduction="none", **kwargs)
        _check_temperature(temperature)
        if similarity not in SIMILARITIES:
            raise ValueError(
                f"similarity must be one of {SIMILARITIES}; received {similarity!r}."
            )
        self.temperature = float(temperature)
        self.similarity = similarity

    def call(self, y_true, y_pred):
        return rank_n_contrast(
            y_pred, y_true, temperature=self.temperature, similarity=self.similarity
        )

    def get_config(self):
        return {
            "name": self.name,
            "temperature": self.temperature,
            "similarity": self.similarity,
        }
