import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.losses import RankNContrast
from keras_umdf.losses import rank_n_contrast


def numpy_rnc(features, labels, temperature=2.0, similarity="l2", valid=None):
    """The definition, one (anchor, positive) pair at a time, in float64."""
    f = np.asarray(features, np.float64)
    y = np.asarray(labels, np.float64).reshape(len(f), -1)
    n = len(f)
    keep = [i for i in range(n) if valid is None or valid[i]]
    if similarity == "l2":
        s = -np.sqrt(((f[:, None, :] - f[None, :, :]) ** 2).sum(-1))
    else:
        unit = f / np.linalg.norm(f, axis=1, keepdims=True)
        s = unit @ unit.T
    total, count = 0.0, 0
    for i in keep:
        for j in keep:
            if j == i:
                continue
            d_ij = np.abs(y[i] - y[j]).sum()
            denominator = sum(
                np.exp(s[i, k] / temperature)
                for k in keep
                if k != i and np.abs(y[i] - y[k]).sum() >= d_ij
            )
            total -= np.log(np.exp(s[i, j] / temperature) / denominator)
            count += 1
    return total / max(count, 1)


def value(x):
    return float(ops.convert_to_numpy(x))


def compiled(fn, static=()):
    """`fn` jit-compiled under JAX, whose eager mode compiles every op of a new
    shape separately (seconds per shape); as is on the other backends."""
    if keras.backend.backend() != "jax":
        return fn
    import jax

    return jax.jit(fn, static_argnames=static)


rnc = compiled(rank_n_contrast, ("temperature", "similarity"))


@pytest.mark.parametrize(
    "similarity, temperature, labels",
    [
        ("l2", 2.0, "ties"),  # integer labels: many equal label distances
        ("l2", 0.5, "continuous"),
        ("cosine", 0.7, "ties"),
        ("cosine", 2.0, "continuous"),
    ],
)
def test_matches_the_definition(similarity, temperature, labels, rng):
    features = rng.normal(size=(9, 4)).astype("float32")
    if labels == "ties":
        y = rng.integers(-3, 4, size=9).astype("float32")
    else:
        y = rng.normal(size=9).astype("float32")
    got = value(rnc(features, y, temperature, similarity))
    expected = numpy_rnc(features, y, temperature, similarity)
    np.testing.assert_allclose(got, expected, rtol=2e-5)


def test_two_views_are_stacked_view_by_view_with_their_labels(rng):
    flows = rng.normal(size=(5, 2, 3)).astype("float32")
    y = rng.normal(size=(5, 1)).astype("float32")  # (B, 1) labels work too
    got = value(rnc(flows, y))
    flat = np.concatenate([flows[:, 0], flows[:, 1]])
    np.testing.assert_allclose(got, numpy_rnc(flat, np.r_[y, y]), rtol=2e-5)
    # Multi-dimensional labels: L1 distance summed over the label axis.
    y2 = rng.normal(size=(5, 2)).astype("float32")
    np.testing.assert_allclose(
        value(rnc(flows, y2)), numpy_rnc(flat, np.r_[y2, y2]), rtol=2e-5
    )


def test_mask_leaves_samples_out_entirely(rng):
    features = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=8).astype("float32")
    valid = np.array([1, 0, 1, 1, 0, 1, 1, 1], bool)
    got = value(rnc(features, y, mask=valid))
    np.testing.assert_allclose(got, numpy_rnc(features, y, valid=valid), rtol=2e-5)
    np.testing.assert_allclose(got, value(rnc(features[valid], y[valid])), rtol=1e-5)
    # Garbage in a masked-out sample changes nothing.
    features[1] = 1e4
    assert value(rnc(features, y, mask=valid)) == pytest.approx(got)
    # Fewer than two valid samples: no pair, the loss is 0, not NaN.
    assert value(rnc(features, y, mask=np.eye(8)[0])) == 0.0


def test_lowest_when_representations_are_ordered_like_the_labels(rng):
    y = np.linspace(-3, 3, 10).astype("float32")
    ordered = np.stack([y * 3, np.zeros_like(y)], axis=1)
    shuffled = ordered[rng.permutation(10)]
    assert value(rnc(ordered, y)) < value(rnc(shuffled, y))


def test_gradient_orders_the_representations_by_label():
    """A toy problem: free 2-d representations of 24 samples, trained on RNC
    alone. The Spearman correlation of their first principal component with the
    labels starts near 0 and rises close to 1 (in absolute value: RNC does not
    care about the direction)."""
    from scipy import stats

    n = 24
    y = np.random.default_rng(1).permutation(np.linspace(-3, 3, n)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((), dtype="int32"), keras.layers.Embedding(n, 2)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=RankNContrast())

    def spearman():
        z = ops.convert_to_numpy(model(np.arange(n)))
        z = z - z.mean(0)
        first = z @ np.linalg.svd(z, full_matrices=False)[2][0]
        return abs(stats.spearmanr(first, y)[0])

    before = spearman()
    history = model.fit(np.arange(n), y, epochs=40, batch_size=n, verbose=0)
    after = spearman()
    assert before < 0.5 and after > 0.9, (before, after)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_finite_float32_gradients_with_duplicates_and_low_precision(rng):
    """Identical representations (distance 0, where the square root's gradient
    is infinite) and bfloat16 inputs: a finite float32 loss and gradients."""
    from tests.layers.gradients import gradients

    features = rng.normal(size=(6, 3)).astype("float32")
    features[3] = features[0]
    y = rng.normal(size=6).astype("float32")
    layer = keras.layers.Identity()
    grads = gradients(layer, lambda f: rnc(f, y), [features])
    assert np.all(np.isfinite(grads[0])) and np.any(grads[0] != 0)
    result = rnc(ops.cast(features, "bfloat16"), y)
    assert keras.backend.standardize_dtype(result.dtype) == "float32"
    assert np.isfinite(value(result))


def test_memory_is_quadratic_in_the_batch():
    """N = 1536 representations: the N^3 triples of the definition would take
    14 GB in float32; the sorted cumulative sums need a few N^2 arrays."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(1536, 8)).astype("float32")
    y = rng.normal(size=1536).astype("float32")
    loss = value(rnc(features, y))
    assert np.isfinite(loss) and loss > 0


def test_argument_errors(rng):
    features = rng.normal(size=(4, 3)).astype("float32")
    y = np.zeros(4, "float32")
    with pytest.raises(ValueError, match="'dot'"):
        rnc(features, y, similarity="dot")
    with pytest.raises(ValueError, match="temperature=0"):
        rnc(features, y, temperature=0)
    with pytest.raises(
        ValueError, match="labels has 3 samples but the features have 4"
    ):
        rnc(features, np.zeros(3, "float32"))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        rnc(np.zeros(4, "float32"), y)


def test_loss_class_and_config(rng):
    flows = rng.normal(size=(6, 2, 3)).astype("float32")
    y = rng.normal(size=6).astype("float32")
    loss = RankNContrast(temperature=0.5, similarity="cosine")
    clone = RankNContrast.from_config(loss.get_config())
    flat = np.concatenate([flows[:, 0], flows[:, 1]])
    expected = numpy_rnc(flat, np.r_[y, y], 0.5, "cosine")
    for fn in (loss, clone):
        np.testing.assert_allclose(value(compiled(fn)(y, flows)), expected, rtol=2e-5)
