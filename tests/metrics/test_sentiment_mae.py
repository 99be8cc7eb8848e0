import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.evaluation import regression_metrics
from keras_umdf.metrics import SentimentMAE


def value(metric):
    return float(ops.convert_to_numpy(metric.result()))


def test_one_score_per_sample_whatever_the_ranks(rng):
    y = rng.uniform(-3, 3, 6).astype("float32")
    p = rng.uniform(-3, 3, 6).astype("float32")
    expected = np.mean(np.abs(p - y))
    for y_shape, p_shape in [((6,), (6, 1)), ((6, 1), (6, 1)), ((6, 1, 1), (6,))]:
        metric = SentimentMAE()
        metric.update_state(y.reshape(y_shape), p.reshape(p_shape))
        assert value(metric) == pytest.approx(expected, rel=1e-6), (y_shape, p_shape)
    # Keras' own MAE broadcasts MulT's (B, 1, 1) labels against a (B,) output.
    keras_mae = keras.metrics.MeanAbsoluteError()
    keras_mae.update_state(y.reshape(6, 1, 1), p)
    assert abs(float(ops.convert_to_numpy(keras_mae.result())) - expected) > 1e-2


def test_accumulates_over_batches_and_resets(rng):
    y = np.round(rng.uniform(-3, 3, 23) * 3) / 3
    p = (y + rng.normal(0, 0.8, 23)).astype("float32")[:, None]
    metric = SentimentMAE()
    for start in range(0, 23, 5):  # 5, 5, 5, 5, 3
        metric.update_state(y[start : start + 5], p[start : start + 5])
    assert value(metric) == pytest.approx(regression_metrics(p, y)["mae"], rel=1e-6)
    metric.reset_state()
    metric.update_state(y[:2], p[:2])
    assert value(metric) == pytest.approx(np.mean(np.abs(p[:2, 0] - y[:2])), rel=1e-6)


def test_sample_weight_gives_the_weighted_mean(rng):
    y, p = rng.normal(size=8), rng.normal(size=(8, 1))
    w = rng.uniform(0, 2, 8)
    metric = SentimentMAE()
    metric.update_state(y, p, sample_weight=w)
    expected = np.average(np.abs(p[:, 0] - y), weights=w)
    assert value(metric) == pytest.approx(expected, rel=1e-5)


def test_config_round_trip_and_bad_shapes():
    metric = SentimentMAE(name="val_score")
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric)
    )
    assert isinstance(restored, SentimentMAE) and restored.name == "val_score"
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 2\)"):
        SentimentMAE().update_state(np.zeros(4), np.zeros((4, 2)))
