"""Collapsed models are named, with their figures; healthy ones are left alone."""

import warnings

import numpy as np
import pytest

from keras_umdf.evaluation.collapse import ModelCollapseWarning
from keras_umdf.evaluation.collapse import collapse_message
from keras_umdf.evaluation.collapse import warn_if_collapsed
from keras_umdf.evaluation.mean_baseline import mean_baseline

pytestmark = pytest.mark.only_backend("tensorflow")  # NumPy and text only


@pytest.fixture
def sentiment(rng):
    train = rng.uniform(-3, 3, size=200)
    labels = rng.uniform(-3, 3, size=100)
    return train, labels, mean_baseline(train, labels, "regression")["metrics"]


def test_a_near_constant_regression_is_named_with_both_figures(sentiment, rng):
    train, labels, baseline = sentiment
    # Nearly constant, and far from most labels: worse than the mean too.
    constant = 2.5 + rng.normal(scale=1e-4, size=(100, 1))
    message = collapse_message(constant, labels, "regression", baseline, split="valid")
    assert message.startswith("the model looks collapsed on the valid split: ")
    assert f"labels std {np.std(labels):.3g}" in message
    assert f"std {np.std(constant):.2g};" in message
    mae = np.mean(np.abs(constant[:, 0] - labels))
    assert f"its MAE {mae:.3f} is no better than predicting the training " in message
    assert f"mean ({baseline['mae']:.3f})" in message
    assert "inputs are normalised" in message and "learning rate" in message


def test_a_spread_out_model_worse_than_the_mean_is_named_too(sentiment, rng):
    train, labels, baseline = sentiment
    noise = rng.normal(scale=3.0, size=(100, 1))
    message = collapse_message(noise, labels, "regression", baseline)
    assert "nearly a constant" not in message
    assert "no better than predicting the training mean" in message


def test_a_model_that_beats_the_mean_is_healthy(sentiment, rng):
    train, labels, baseline = sentiment
    good = labels[:, None] + rng.normal(scale=0.3, size=(100, 1))
    assert collapse_message(good, labels, "regression", baseline) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_if_collapsed(good, labels, "regression", baseline) is None


def test_one_class_for_every_clip_is_named():
    labels = np.array([0, 1, 2, 1, 0, 2])
    baseline = mean_baseline(np.array([1, 1, 0]), labels, "classification")["metrics"]
    logits = np.tile([[0.1, 0.2, 3.0]], (6, 1))
    with pytest.warns(ModelCollapseWarning, match="it predicts class 2 for every clip"):
        message = warn_if_collapsed(logits, labels, "classification", baseline)
    assert (
        "F1 16.67 is no better than predicting the training majority class (16.67)"
        in message
    )
    right = np.eye(3)[labels]
    assert collapse_message(right, labels, "classification", baseline) is None


def test_the_same_flags_for_every_clip_are_named_for_multi_label():
    names = ("neutral", "happy")
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    baseline = mean_baseline(labels, labels, "multi_label", label_names=names)
    same = np.tile([[[0.0, 1.0], [1.0, 0.0]]], (4, 1, 1))  # (N, K, 2) logits
    message = collapse_message(
        same, labels, "multi_label", baseline["metrics"], label_names=names
    )
    assert "the same flags for every clip" in message
    right = np.eye(2)[labels]
    assert (
        collapse_message(
            right, labels, "multi_label", baseline["metrics"], label_names=names
        )
        is None
    )
