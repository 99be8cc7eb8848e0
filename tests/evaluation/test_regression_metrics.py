import numpy as np
import pytest
from sklearn.metrics import accuracy_score
from sklearn.metrics import f1_score

from keras_umdf.evaluation import regression_metrics
from keras_umdf.evaluation import weighted_f1

pytestmark = pytest.mark.only_backend("tensorflow")  # NumPy only


def reference(p, t):
    """The field's computation (MMSA), written out from its definitions."""
    nz = t != 0
    return {
        "mae": np.mean(np.abs(p - t)),
        "corr": np.corrcoef(p, t)[0, 1],
        "acc7": np.mean(np.round(np.clip(p, -3, 3)) == np.round(np.clip(t, -3, 3))),
        "acc5": np.mean(np.round(np.clip(p, -2, 2)) == np.round(np.clip(t, -2, 2))),
        "has0_acc2": accuracy_score(p >= 0, t >= 0),
        "has0_f1": f1_score(t >= 0, p >= 0, average="weighted"),
        "non0_acc2": accuracy_score(p[nz] > 0, t[nz] > 0),
        "non0_f1": f1_score(t[nz] > 0, p[nz] > 0, average="weighted"),
    }


def test_matches_the_field_definitions(rng):
    t = np.round(rng.uniform(-3, 3, 200) * 3) / 3  # MOSI's 1/3 grid, with zeros
    t[:10] = 0.0
    p = t + rng.normal(0, 1.0, 200)
    got = regression_metrics(p, t)
    for key, value in reference(p, t).items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_round_half_to_even_and_clipping():
    # 2.5 rounds to 2 (half to even), 3.7 clips to 3 for Acc-7 and to 2 for Acc-5.
    p = np.array([2.5, 3.7, -0.5])
    t = np.array([2.0, 3.0, 0.0])
    got = regression_metrics(p, t)
    assert got["acc7"] == 1.0  # 2==2, 3==3, -0 == 0
    assert got["acc5"] == 1.0


def test_zero_labels_count_as_positive_only_in_has0():
    p = np.array([0.5, -0.5, 1.0, -1.0])
    t = np.array([0.0, 0.0, 2.0, -2.0])
    got = regression_metrics(p, t)
    assert got["has0_acc2"] == 0.75  # the t=0 sample with p<0 is wrong
    assert got["non0_acc2"] == 1.0  # zeros are dropped


def test_all_zero_labels():
    with pytest.warns(RuntimeWarning) as caught:
        got = regression_metrics(np.array([0.1, -0.2]), np.zeros(2))
    messages = " ".join(str(w.message) for w in caught)
    assert "Corr is undefined" in messages and "Non0" in messages
    assert np.isnan(got["non0_acc2"]) and np.isnan(got["non0_f1"])
    assert got["has0_acc2"] == 0.5
    # Has0: every label is "positive"; F1 weighted by the one true class.
    assert got["has0_f1"] == pytest.approx(f1_score([1, 1], [1, 0], average="weighted"))


def test_ties_at_zero_follow_each_convention():
    # A prediction of exactly 0 is positive for Has0 (>= 0), negative for Non0 (> 0).
    p = np.array([0.0, 0.0, 1.0, -1.0, 0.0])
    t = np.array([1.0, -1.0, 1.0, -1.0, 0.0])
    got = regression_metrics(p, t)
    assert got["has0_acc2"] == pytest.approx(4 / 5)  # only t=-1, p=0 is wrong
    assert got["non0_acc2"] == pytest.approx(3 / 4)  # t=0 dropped; t=1, p=0 wrong
    expected = f1_score([1, 0, 1, 0], [0, 0, 1, 0], average="weighted")
    assert got["non0_f1"] == pytest.approx(expected, abs=1e-12)


def test_half_to_even_can_make_a_near_miss_wrong():
    # np.round(0.5) == 0 and np.round(-1.5) == -2: round half up would differ.
    got = regression_metrics(np.array([0.5, -1.5, 1.5]), np.array([1.0, -1.0, 2.0]))
    assert got["acc7"] == pytest.approx(1 / 3)
    assert got["acc5"] == pytest.approx(1 / 3)


def test_constant_predictions_give_nan_corr_with_warning(rng):
    t = rng.uniform(-3, 3, 20)
    with pytest.warns(RuntimeWarning, match="Corr is undefined"):
        got = regression_metrics(np.zeros(20), t)
    assert np.isnan(got["corr"])
    assert got["mae"] == pytest.approx(np.mean(np.abs(t)))


def test_constant_predictions_with_rounding_noise_still_give_nan_corr(rng):
    # np.std of seven 0.1s is about 1e-17, not 0: Corr must still be NaN, not noise.
    p = np.full(7, 0.1)
    assert np.std(p) != 0
    with pytest.warns(RuntimeWarning, match="predictions constant: True"):
        got = regression_metrics(p, rng.uniform(-3, 3, 7))
    assert np.isnan(got["corr"])


def test_float32_model_output_of_shape_n_by_1(rng):
    t = rng.uniform(-3, 3, 30)
    p = (t + rng.normal(0, 0.5, 30)).astype("float32")[:, None]
    got = regression_metrics(p, t.astype("float32"))
    expected = reference(p[:, 0].astype(np.float64), t.astype("float32"))
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key


def test_weighted_f1_matches_sklearn_with_absent_predicted_class(rng):
    y_true = rng.integers(0, 2, 50).astype(bool)
    y_pred = np.ones(50, bool)  # one class never predicted
    expected = f1_score(y_true, y_pred, average="weighted", zero_division=0)
    assert weighted_f1(y_true, y_pred) == pytest.approx(expected, abs=1e-12)


def test_weighted_f1_multiclass_and_not_symmetric(rng):
    y_true = rng.integers(0, 4, 60)
    y_pred = np.where(rng.random(60) < 0.6, y_true, 4)  # class 4 only predicted
    expected = f1_score(y_true, y_pred, average="weighted", zero_division=0)
    assert weighted_f1(y_true, y_pred) == pytest.approx(expected, abs=1e-12)
    swapped = f1_score(y_pred, y_true, average="weighted", zero_division=0)
    assert weighted_f1(y_pred, y_true) == pytest.approx(swapped, abs=1e-12)
    assert abs(expected - swapped) > 1e-3  # truth first matters


def test_rejects_mismatched_or_nonfinite_input():
    with pytest.raises(ValueError, match="received 3 and 2"):
        regression_metrics(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="received 0 and 0"):
        regression_metrics(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="predictions contain 1 NaN"):
        regression_metrics(np.array([np.nan, 1.0]), np.zeros(2))
    with pytest.raises(ValueError, match="labels contain 1 NaN"):
        regression_metrics(np.zeros(2), np.array([np.inf, 1.0]))
    with pytest.raises(ValueError, match="received 3 and 2"):
        weighted_f1([0, 1, 1], [0, 1])
