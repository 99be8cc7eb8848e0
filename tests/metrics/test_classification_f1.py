import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.evaluation import classification_metrics
from keras_umdf.evaluation import multilabel_metrics
from keras_umdf.metrics import ClassificationF1
from keras_umdf.metrics import MultiLabelF1


def value(metric):
    return float(ops.convert_to_numpy(metric.result()))


def test_classification_f1_over_batches_equals_numpy(rng):
    labels = rng.integers(0, 3, 48)
    labels[labels == 2] = 1  # class 2 never true: counted only as a wrong guess
    logits = (rng.normal(size=(48, 3)) + np.eye(3)[labels]).astype("float32")
    metric = ClassificationF1(3)
    assert metric.name == "weighted_f1"
    for start in range(0, 48, 16):
        metric.update_state(
            labels[start : start + 16, None], logits[start : start + 16]
        )
    expected = classification_metrics(logits, labels)["weighted_f1"]
    assert value(metric) == pytest.approx(expected, abs=1e-6)


def test_multilabel_f1_over_batches_equals_numpy(rng):
    flags = (rng.random((40, 4)) < 0.3).astype("int32")
    logits = rng.normal(size=(40, 4, 2)).astype("float32")
    logits[..., 1] += flags
    metric = MultiLabelF1(4)
    assert metric.name == "mean_f1"
    for start in range(0, 40, 10):
        metric.update_state(flags[start : start + 10], logits[start : start + 10])
    expected = multilabel_metrics(logits, flags)["mean_f1"]
    assert value(metric) == pytest.approx(expected, abs=1e-6)


def test_config_round_trip_and_errors():
    for metric in (ClassificationF1(5), MultiLabelF1(4)):
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(metric)
        )
        assert type(restored) is type(metric)
        assert restored.get_config() == metric.get_config()
    with pytest.raises(ValueError, match=r"\(B, 3\); received \(4, 2\)"):
        ClassificationF1(3).update_state(np.zeros(4), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(B, 4, 2\).*received \(4, 4\)"):
        MultiLabelF1(4).update_state(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="received 1"):
        ClassificationF1(1)
    with pytest.raises(ValueError, match="received 2.0"):
        MultiLabelF1(2.0)
