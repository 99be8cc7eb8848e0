"""Exact t-SNE in NumPy, for pictures of the joint representations (Figure 6)."""

from __future__ import annotations

import numpy as np

from keras_umdf.argument_validation import check_int

_BINARY_SEARCH_STEPS = 100
_ENTROPY_TOLERANCE = 1e-5
_MIN_GAIN = 0.01


def _squared_distances(x: np.ndarray) -> np.ndarray:
    squared_norms = np.sum(x * x, axis=1)
    distances = squared_norms[:, None] + squared_norms[None, :] - 2.0 * (x @ x.T)
    np.maximum(distances, 0.0, out=distances)
    np.fill_diagonal(distances, 0.0)
    return distances


def _conditional_probabilities(distances: np.ndarray, perplexity: float) -> np.ndarray:
    """p_{j|i} with a per-point precision found by bisection on the entropy.

    Every row's Gaussian precision beta_i = 1 / (2 sigma_i^2) is searched at once
    (vectorised over points) until the row's Shannon entropy, in nats, equals
    log(perplexity).
    """
    n = distances.shape[0]
    off_diagonal = ~np.eye(n, dtype=bool)
    # Distances relative to each row's nearest neighbour: exp() cannot underflow
    # to an all-zero row, and the normalised probabilities are unchanged.
    d = distances - np.min(np.where(off_diagonal, distances, np.inf), axis=1)[:, None]
    target = np.log(perplexity)
    beta = np.ones(n)
    low = np.zeros(n)
    high = np.full(n, np.inf)
    for _ in range(_BINARY_SEARCH_STEPS):
        weights = np.exp(-d * beta[:, None]) * off_diagonal
        total = np.sum(weights, axis=1)
        probabilities = weights / total[:, None]
        entropy = np.log(total) + beta * np.sum(d * probabilities, axis=1)
        error = entropy - target
        if np.all(np.abs(error) < _ENTROPY_TOLERANCE):
            break
        too_flat = error > 0  # entropy too high: sharpen (raise beta)
        low = np.where(too_flat, beta, low)
        high = np.where(too_flat, high, beta)
        beta = np.where(
            too_flat,
            np.where(np.isinf(high), beta * 2.0, (beta + high) / 2.0),
            (beta + low) / 2.0,
        )
    return probabilities


def tsne(
    features,
    *,
    perplexity: float = 30.0,
    seed: int = 0,
    num_iterations: int = 1000,
    early_exaggeration: float = 12.0,
    learning_rate: float | None = None,
) -> np.ndarray:
    """Embeds N points in 2-d with exact t-SNE (van der Maaten & Hinton, 2008).

    1. Squared Euclidean distances; for each point a Gaussian whose precision is
       found by bisection so that the conditional distribution p_{j|i} has the
       given perplexity (2 to the entropy in bits).
    2. Symmetrised joint probabilities p_ij = (p_{j|i} + p_{i|j}) / 2N.
    3. In 2-d, Student-t (one degree of freedom) similarities
       q_ij = (1 + |y_i - y_j|^2)^-1 / sum_{k != l} (1 + |y_k - y_l|^2)^-1.
    4. Gradient descent on KL(P || Q), gradient
       4 sum_j (p_ij - q_ij) (y_i - y_j) / (1 + |y_i - y_j|^2), from a N(0, 1e-4)
       start drawn from `seed`; P multiplied by `early_exaggeration` for the first
       quarter of the iterations (at most 250); momentum 0.5 then 0.8; per-
       coordinate adaptive gains (Jacobs, 1988), as in the paper.

    O(N^2) memory and time per iteration: fine up to a few thousand points.

    Args:
        features: (N, D) array, e.g. the joint representations h of N clips.
        perplexity: the effective number of neighbours, > 0 and below N - 1.
        seed: seed of the initial layout; the same seed gives the same output.
        num_iterations: gradient steps (>= 1).
        early_exaggeration: factor on P in the early phase (12, as in
            scikit-learn and later t-SNE work; the 2008 paper used 4).
        learning_rate: step size; None (default) uses max(N / early_exaggeration
            / 4, 50), the "auto" rate of Belkina et al. (2019).

    Returns:
        float64 (N, 2) coordinates.

    Raises:
        ValueError: features are not a finite (N, D) array with N >= 4, or
            perplexity / num_iterations are out of range (the limit is named).

    Example:

    >>> xy = tsne(np.random.default_rng(0).normal(size=(50, 8)), perplexity=10,
    ...           num_iterations=250)
    >>> xy.shape
    (50, 2)
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 4 or x.shape[1] < 1:
        raise ValueError(
            f"tsne needs features of shape (N, D) with N >= 4 points; received "
            f"shape {np.shape(features)}."
        )
    if not np.isfinite(x).all():
        raise ValueError(
            f"features contain {int(np.sum(~np.isfinite(x)))} NaN or inf values; "
            "t-SNE needs finite numbers."
        )
    n = x.shape[0]
    if not np.isfinite(perplexity) or not 0 < perplexity < n - 1:
        raise ValueError(
            f"perplexity must be > 0 and below N - 1 = {n - 1} for {n} points; "
            f"received {perplexity}. Use a perplexity of at most about "
            f"{max((n - 1) / 3, 1.0):.1f} (a third of the points) or pass more points."
        )
    num_iterations = check_int("num_iterations", num_iterations)
    if not early_exaggeration >= 1:
        raise ValueError(
            f"early_exaggeration must be >= 1; received {early_exaggeration}."
        )
    if learning_rate is None:
        learning_rate = max(n / early_exaggeration / 4.0, 50.0)
    elif not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0; received {learning_rate}.")

    conditional = _conditional_probabilities(_squared_distances(x), perplexity)
    p = (conditional + conditional.T) / (2.0 * n)
    p = np.maximum(p, 1e-12)
    np.fill_diagonal(p, 0.0)
    # The descent runs in float32: half the memory traffic of float64, and t-SNE's
    # layout does not need more precision.
    p = p.astype(np.float32)
    exaggerated = p * np.float32(early_exaggeration)

    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 1e-4, size=(n, 2)).astype(np.float32)
    velocity = np.zeros_like(y)
    gains = np.ones_like(y)
    exaggeration_steps = min(250, num_iterations // 4)
    for step in range(num_iterations):
        early = step < exaggeration_steps
        momentum = np.float32(0.5 if early else 0.8)
        dx = np.subtract.outer(y[:, 0], y[:, 0])
        dy = np.subtract.outer(y[:, 1], y[:, 1])
        # kernel = (1 + |y_i - y_j|^2)^-1, q = kernel / sum(kernel).
        kernel = dx * dx
        kernel += dy * dy
        kernel += 1.0
        np.reciprocal(kernel, out=kernel)
        np.fill_diagonal(kernel, 0.0)
        # (p_ij - q_ij) kernel_ij, with q_ij kernel_ij = kernel_ij^2 / sum(kernel).
        total = np.float32(np.sum(kernel, dtype=np.float64))
        forces = (exaggerated if early else p) * kernel
        kernel *= kernel
        kernel /= total
        forces -= kernel
        gradient = 4.0 * (np.sum(forces, axis=1)[:, None] * y - forces @ y)
        # Grow the gain where the gradient's sign differs from the last step's.
        same_direction = np.sign(gradient) == np.sign(velocity)
        gains = np.where(same_direction, gains * 0.8, gains + 0.2)
        np.maximum(gains, _MIN_GAIN, out=gains)
        velocity = momentum * velocity - learning_rate * gains * gradient
        y = y + velocity
        y = y - np.mean(y, axis=0)
    return y.astype(np.float64)
