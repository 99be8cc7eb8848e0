"""The metric classes inside `compile(metrics=...)`, of plain models and of UMDF."""

import keras
import numpy as np
import pytest

from keras_umdf import UMDF
from keras_umdf.evaluation import classification_metrics
from keras_umdf.evaluation import multilabel_metrics
from keras_umdf.evaluation import regression_metrics
from keras_umdf.metrics import ClassificationF1
from keras_umdf.metrics import MultiLabelF1
from keras_umdf.metrics import SentimentAccuracy2
from keras_umdf.metrics import SentimentF1
from keras_umdf.metrics import SentimentMAE
from tests.models.umdf_inputs import PAIR_CONFIG
from tests.models.umdf_inputs import PAIR_DIMS
from tests.models.umdf_inputs import compile_for_a_quick_check
from tests.models.umdf_inputs import random_view

KEYS = ("mae", "non0_f1", "has0_f1", "non0_acc2")


def sentiment_metrics():
    return [SentimentMAE(), SentimentF1(), SentimentF1(exclude_zero=False),
            SentimentAccuracy2()]  # fmt: skip


def test_plain_keras_model_logs_the_report_metrics(rng):
    x = rng.normal(size=(28, 3)).astype("float32")
    y = np.round(np.clip(x @ [1.0, -1.0, 0.5], -3, 3) * 3) / 3  # (N,) with zeros
    y[:4] = 0.0
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=sentiment_metrics())
    history = model.fit(x, y, batch_size=7, epochs=1, verbose=0)
    assert set(KEYS) <= set(history.history)  # keys read like the report's
    # Over 4 batches of 7, the epoch values are those of the whole set.
    got = model.evaluate(x, y, batch_size=7, return_dict=True, verbose=0)
    expected = regression_metrics(model.predict(x, batch_size=28, verbose=0), y)
    for key in KEYS:
        assert got[key] == pytest.approx(expected[key], abs=1e-5), key


def test_plain_keras_classifiers_with_f1_metrics(rng):
    x = rng.normal(size=(24, 5)).astype("float32")
    classes = rng.integers(0, 3, 24)
    flags = (rng.random((24, 4)) < 0.4).astype("int32")
    classifier = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    tagger = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8), keras.layers.Reshape((4, 2))]
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    classifier.compile(loss=loss, metrics=[ClassificationF1(3)])
    tagger.compile(loss=loss, metrics=[MultiLabelF1(4)])
    got = classifier.evaluate(x, classes, batch_size=6, return_dict=True, verbose=0)
    expected = classification_metrics(classifier.predict(x, verbose=0), classes)
    assert got["weighted_f1"] == pytest.approx(expected["weighted_f1"], abs=1e-5)
    got = tagger.evaluate(x, flags, batch_size=6, return_dict=True, verbose=0)
    expected = multilabel_metrics(tagger.predict(x, verbose=0), flags)
    assert got["mean_f1"] == pytest.approx(expected["mean_f1"], abs=1e-5)


# UMDF.compute_metrics is backend-independent Python, and the metrics are checked
# under JAX with the plain models above; JAX's compilation of UMDF's test step
# would cost half a minute of the suite.
@pytest.mark.only_backend("tensorflow", "torch")
def test_umdf_evaluate_with_sentiment_metrics(rng):
    # UMDF.compute_metrics hands the metrics its (B, 1) prediction and (B,) labels.
    model = UMDF(**PAIR_CONFIG)
    compile_for_a_quick_check(model, metrics=sentiment_metrics())
    view = random_view(rng, 8, dims=PAIR_DIMS)
    labels = np.round(rng.uniform(-3, 3, 8) * 3) / 3
    labels[0] = 0.0
    got = model.evaluate(view, labels, batch_size=4, return_dict=True, verbose=0)
    assert set(KEYS) | {"task_loss"} <= set(got)
    predictions = keras.ops.convert_to_numpy(model(view))
    expected = regression_metrics(predictions, labels)
    for key in KEYS:
        assert got[key] == pytest.approx(expected[key], abs=1e-5), key
