import keras
import numpy as np
import pytest
from keras import ops
from sklearn.metrics import accuracy_score
from sklearn.metrics import f1_score

from keras_umdf.evaluation import regression_metrics
from keras_umdf.metrics import SentimentAccuracy2
from keras_umdf.metrics import SentimentF1


def value(metric):
    return float(ops.convert_to_numpy(metric.result()))


def sentiment_batches(rng):
    """MOSI-like scores with zero labels, predictions tied at 0, and a batch whose
    labels are all 0 (nothing to count for Non0)."""
    y = np.round(rng.uniform(-3, 3, 40) * 3) / 3
    y[::7] = 0.0
    p = y + rng.normal(0, 1.2, 40)
    p[::5] = 0.0
    y[10:14] = 0.0
    return y.astype("float32"), p.astype("float32")[:, None]


@pytest.mark.parametrize(
    "metric_class, exclude_zero, key",
    [
        (SentimentF1, True, "non0_f1"),
        (SentimentF1, False, "has0_f1"),
        (SentimentAccuracy2, True, "non0_acc2"),
        (SentimentAccuracy2, False, "has0_acc2"),
    ],
)
def test_epoch_value_equals_the_numpy_metric(rng, metric_class, exclude_zero, key):
    y, p = sentiment_batches(rng)
    metric = metric_class(exclude_zero=exclude_zero)
    assert metric.name == key  # the history key reads like the report's
    for start in range(0, 40, 6):
        metric.update_state(y[start : start + 6], p[start : start + 6])
    expected = regression_metrics(p, y)[key]
    assert value(metric) == pytest.approx(expected, abs=1e-6)
    # A mean of per-batch scores would differ: the counts really accumulate.
    per_batch = []
    for start in range(0, 40, 6):
        single = metric_class(exclude_zero=exclude_zero)
        single.update_state(y[start : start + 6], p[start : start + 6])
        per_batch.append(value(single))
    assert abs(np.nanmean(per_batch) - expected) > 1e-4


def test_independent_definition_with_weights(rng):
    y, p = sentiment_batches(rng)
    w = rng.uniform(0.1, 2.0, 40)
    nz = y != 0
    f1 = SentimentF1()
    acc = SentimentAccuracy2(exclude_zero=False)
    f1.update_state(y, p, sample_weight=w)
    acc.update_state(y, p, sample_weight=w)
    expected_f1 = f1_score(
        y[nz] > 0, p[nz, 0] > 0, average="weighted", sample_weight=w[nz]
    )
    expected_acc = accuracy_score(y >= 0, p[:, 0] >= 0, sample_weight=w)
    assert value(f1) == pytest.approx(expected_f1, abs=1e-5)
    assert value(acc) == pytest.approx(expected_acc, abs=1e-5)


def test_all_zero_labels_give_nan_for_non0_only():
    y, p = np.zeros(4, "float32"), np.array([[0.5], [-0.5], [1.0], [0.0]], "float32")
    non0, has0 = SentimentF1(), SentimentF1(exclude_zero=False)
    non0.update_state(y, p)
    has0.update_state(y, p)
    assert np.isnan(value(non0))
    assert value(has0) == pytest.approx(
        f1_score([1] * 4, [1, 0, 1, 1], average="weighted")
    )


def test_config_round_trip_and_argument_check():
    metric = SentimentAccuracy2(exclude_zero=False)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric)
    )
    assert isinstance(restored, SentimentAccuracy2)
    assert restored.exclude_zero is False and restored.name == "has0_acc2"
    f1 = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(SentimentF1())
    )
    assert f1.exclude_zero is True and f1.name == "non0_f1"
    with pytest.raises(ValueError, match="received 'yes'"):
        SentimentF1(exclude_zero="yes")
