import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.losses import MaximumMeanDiscrepancy
from keras_umdf.losses import maximum_mean_discrepancy


def numpy_mmd(x, y, kernel_num=5, kernel_mul=2.0):
    """Eq. 2 with the multi-kernel Gaussian of design decision 2 (docs/design-decisions.md), in float64."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    z = np.concatenate([x, y])
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    m = len(z)
    base = d2.sum() / (m * m - m)
    k = sum(np.exp(-d2 / (base * kernel_mul**i)) for i in range(-2, 3))
    n = len(x)
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


def test_matches_numpy_reference(rng):
    x = rng.normal(size=(6, 5)).astype("float32")
    y = (rng.normal(size=(6, 5)) + 0.7).astype("float32")
    got = float(ops.convert_to_numpy(maximum_mean_discrepancy(x, y)))
    np.testing.assert_allclose(got, numpy_mmd(x, y), rtol=1e-4, atol=1e-6)


def test_zero_for_identical_batches_and_positive_for_shifted(rng):
    x = rng.normal(size=(8, 3)).astype("float32")
    same = float(ops.convert_to_numpy(maximum_mean_discrepancy(x, x)))
    shifted = float(ops.convert_to_numpy(maximum_mean_discrepancy(x, x + 3.0)))
    assert abs(same) < 1e-6
    assert shifted > 0.1


def test_symmetric(rng):
    x = rng.normal(size=(5, 4)).astype("float32")
    y = rng.normal(size=(5, 4)).astype("float32") * 2
    a = ops.convert_to_numpy(maximum_mean_discrepancy(x, y))
    b = ops.convert_to_numpy(maximum_mean_discrepancy(y, x))
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_float32_result_for_low_precision_inputs(rng):
    x = ops.cast(rng.normal(size=(4, 3)), "bfloat16")
    y = ops.cast(rng.normal(size=(4, 3)) + 1, "bfloat16")
    result = maximum_mean_discrepancy(x, y)
    assert keras.backend.standardize_dtype(result.dtype) == "float32"
    assert np.isfinite(ops.convert_to_numpy(result))


def test_degenerate_batch_is_finite():
    """All points identical: the bandwidth would be zero; the loss must stay 0."""
    x = np.ones((3, 4), "float32")
    result = ops.convert_to_numpy(maximum_mean_discrepancy(x, x))
    assert np.isfinite(result) and abs(float(result)) < 1e-6


def test_rejects_mismatched_widths():
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 5\)"):
        maximum_mean_discrepancy(np.zeros((4, 3)), np.zeros((4, 5)))


def test_loss_class_and_config(rng):
    x = rng.normal(size=(6, 5)).astype("float32")
    y = rng.normal(size=(6, 5)).astype("float32") + 1
    loss = MaximumMeanDiscrepancy(kernel_num=3, kernel_mul=3.0)
    clone = MaximumMeanDiscrepancy.from_config(loss.get_config())
    expected = numpy_mmd(x, y, kernel_num=3, kernel_mul=3.0)
    # kernel_num=3 -> exponents -1..1 in the reference below.
    d = np.concatenate([x, y]).astype(np.float64)
    d2 = ((d[:, None] - d[None]) ** 2).sum(-1)
    base = d2.sum() / (len(d) ** 2 - len(d))
    k = sum(np.exp(-d2 / (base * 3.0**i)) for i in range(-1, 2))
    expected = k[:6, :6].mean() + k[6:, 6:].mean() - 2 * k[:6, 6:].mean()
    for fn in (loss, clone):
        got = float(ops.convert_to_numpy(fn(x, y)))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
