import keras
import numpy as np
import pytest
from keras import ops
from scipy.spatial.distance import jensenshannon

from keras_umdf.losses import JensenShannonDivergence
from keras_umdf.losses import jensen_shannon_divergence


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def numpy_js(p, q):
    """Eq. 5: 0.5 KL(p||m) + 0.5 KL(q||m), natural log, per row."""
    m = 0.5 * (p + q)
    return 0.5 * (p * np.log(p / m)).sum(-1) + 0.5 * (q * np.log(q / m)).sum(-1)


def test_matches_numpy_and_scipy(rng):
    a = rng.normal(size=(7, 4)).astype("float32")
    b = rng.normal(size=(7, 4)).astype("float32")
    got = float(ops.convert_to_numpy(jensen_shannon_divergence(a, b)))
    p, q = softmax(a.astype(np.float64)), softmax(b.astype(np.float64))
    np.testing.assert_allclose(got, numpy_js(p, q).mean(), rtol=1e-5)
    scipy_value = np.mean(
        [jensenshannon(pi, qi) ** 2 for pi, qi in zip(p, q, strict=True)]
    )
    np.testing.assert_allclose(got, scipy_value, rtol=1e-5)


def test_probabilities_input_and_multilabel_shape(rng):
    a = softmax(rng.normal(size=(3, 4, 2)))
    b = softmax(rng.normal(size=(3, 4, 2)))
    got = float(
        ops.convert_to_numpy(jensen_shannon_divergence(a, b, from_logits=False))
    )
    np.testing.assert_allclose(got, numpy_js(a, b).mean(), rtol=1e-5)


def test_bounds_symmetry_and_dtype(rng):
    a = ops.cast(rng.normal(size=(5, 3)) * 10, "float16")
    b = ops.cast(rng.normal(size=(5, 3)) * 10, "float16")
    ab = jensen_shannon_divergence(a, b)
    ba = jensen_shannon_divergence(b, a)
    assert keras.backend.standardize_dtype(ab.dtype) == "float32"
    np.testing.assert_allclose(ops.convert_to_numpy(ab), ops.convert_to_numpy(ba))
    assert 0.0 <= float(ops.convert_to_numpy(ab)) <= np.log(2) + 1e-6
    same = jensen_shannon_divergence(a, a)
    assert abs(float(ops.convert_to_numpy(same))) < 1e-6


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        jensen_shannon_divergence(np.zeros((2, 3)), np.zeros((2, 4)))


def test_loss_class_round_trip(rng):
    a = rng.normal(size=(4, 3)).astype("float32")
    b = rng.normal(size=(4, 3)).astype("float32")
    loss = JensenShannonDivergence()
    clone = JensenShannonDivergence.from_config(loss.get_config())
    expected = numpy_js(softmax(a.astype(np.float64)), softmax(b.astype(np.float64)))
    for fn in (loss, clone):
        got = float(ops.convert_to_numpy(fn(a, b)))
        np.testing.assert_allclose(got, expected.mean(), rtol=1e-5)
