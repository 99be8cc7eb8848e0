import numpy as np
import pytest
from scipy.spatial.distance import cdist

from keras_umdf.evaluation import tsne
from keras_umdf.evaluation.tsne import _conditional_probabilities

pytestmark = pytest.mark.only_backend("tensorflow")  # NumPy only


def clusters(rng, per_cluster=50, num_clusters=3, dims=20, spread=6.0):
    centres = rng.normal(size=(num_clusters, dims)) * spread
    points = np.concatenate([c + rng.normal(size=(per_cluster, dims)) for c in centres])
    return points, np.repeat(np.arange(num_clusters), per_cluster)


def nearest_neighbour_agreement(xy, labels):
    distances = cdist(xy, xy)
    np.fill_diagonal(distances, np.inf)
    return np.mean(labels[np.argmin(distances, axis=1)] == labels)


def test_separated_clusters_stay_separated(rng):
    x, labels = clusters(rng)
    xy = tsne(x, perplexity=20, num_iterations=300)
    assert xy.shape == (150, 2) and np.isfinite(xy).all()
    assert nearest_neighbour_agreement(xy, labels) > 0.95
    # Each cluster's centre is farther from the others than its points are from it.
    centres = np.stack([xy[labels == k].mean(0) for k in range(3)])
    spread = max(
        np.linalg.norm(xy[labels == k] - centres[k], axis=1).mean() for k in range(3)
    )
    gap = cdist(centres, centres)[np.triu_indices(3, 1)].min()
    assert gap > 2 * spread


def test_same_seed_same_layout_other_seed_other_layout(rng):
    x, _ = clusters(rng, per_cluster=15)
    a = tsne(x, perplexity=10, seed=3, num_iterations=100)
    b = tsne(x, perplexity=10, seed=3, num_iterations=100)
    c = tsne(x, perplexity=10, seed=4, num_iterations=100)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_bandwidths_match_the_perplexity(rng):
    # Step 1 of t-SNE: each row's conditional distribution has entropy log(perp).
    x = rng.normal(size=(60, 5)) * rng.uniform(0.1, 10, size=(60, 1))
    distances = cdist(x, x, "sqeuclidean")
    p = _conditional_probabilities(distances, 12.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-10)
    assert np.all(np.diag(p) == 0)
    logs = np.log(np.where(p > 0, p, 1.0))
    perplexity = np.exp(-np.sum(p * logs, axis=1))
    np.testing.assert_allclose(perplexity, 12.0, rtol=1e-3)


def test_clear_errors(rng):
    with pytest.raises(ValueError, match=r"N >= 4 points; received shape \(3, 5\)"):
        tsne(rng.normal(size=(3, 5)))
    with pytest.raises(ValueError, match=r"received shape \(10,\)"):
        tsne(rng.normal(size=10))
    with pytest.raises(ValueError, match="below N - 1 = 9 for 10 points; received 30"):
        tsne(rng.normal(size=(10, 4)))
    with pytest.raises(ValueError, match="NaN"):
        tsne(np.full((10, 4), np.nan), perplexity=3)
    with pytest.raises(
        ValueError, match="num_iterations must be a positive int; received 0"
    ):
        tsne(rng.normal(size=(10, 4)), perplexity=3, num_iterations=0)
