"""The test protocol: seven conditions with Avg., frame-drop curves, joint features."""

import importlib

import keras
import numpy as np
import pytest

import keras_umdf
from keras_umdf.data import apply_condition
from keras_umdf.data import synthetic
from keras_umdf.evaluation.joint_representations import joint_representations
from keras_umdf.evaluation.protocol import FRAME_DROP_RATES
from keras_umdf.evaluation.protocol import evaluate_conditions
from keras_umdf.evaluation.protocol import frame_drop_curve
from keras_umdf.evaluation.protocol import predict_split
from keras_umdf.evaluation.regression_metrics import regression_metrics
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import INCOMPLETE_CONDITIONS

# JAX compiles every new input shape and runs `encode` op by op: it runs the
# first test only; the plumbing beyond `model.predict` is backend-independent.
NOT_JAX = pytest.mark.only_backend("tensorflow", "torch")
TINY = dict(hidden_dim=8, num_heads=2, num_layers=1, dropout=0.0)
DIMS = {"text": 6, "audio": 5, "vision": 4}


def tiny_data(name):
    return synthetic(name, seed=0, scale=0.02, sequence_length=8, modality_dims=DIMS)


@pytest.fixture(scope="module")
def mosi():
    keras.utils.set_random_seed(0)
    data = tiny_data("mosi")
    return data, keras_umdf.UMDF.for_dataset(data, **TINY)


@pytest.fixture(scope="module")
def iemocap():
    keras.utils.set_random_seed(0)
    data = tiny_data("iemocap")
    return data, keras_umdf.UMDF.for_dataset(data, **TINY)


def reference_predictions(model, split, condition):
    view = apply_condition(split.features, condition)
    return model.predict(view, batch_size=len(split.labels), verbose=0)


def test_seven_conditions_match_a_reference_and_avg_is_their_mean(mosi):
    data, model = mosi
    split = data["test"]
    lines = []
    results = evaluate_conditions(model, split, progress=lines.append)
    assert list(results) == [*CONDITIONS, "avg"]
    for condition in ("l", "av", "lav"):
        expected = regression_metrics(
            reference_predictions(model, split, condition), split.labels
        )
        assert results[condition]["mae"] == pytest.approx(expected["mae"], rel=1e-5)
        assert results[condition]["non0_f1"] == pytest.approx(expected["non0_f1"])
    for key in ("mae", "non0_f1", "acc7"):
        six = [results[c][key] for c in INCOMPLETE_CONDITIONS]
        assert results["avg"][key] == pytest.approx(np.mean(six))
    assert len(lines) == 7 and lines[3].startswith("condition {l,a}: MAE ")
    # Removing modalities changes what the model sees.
    assert results["l"]["mae"] != results["v"]["mae"]


@NOT_JAX
def test_chosen_conditions_only_and_no_avg_without_all_six(mosi):
    data, model = mosi
    results = evaluate_conditions(model, data["test"], conditions=("al", "lav"))
    assert list(results) == ["la", "lav"]


@NOT_JAX
def test_each_conditions_outputs_reach_on_predictions(mosi):
    data, model = mosi
    split = data["test"]
    seen = {}
    results = evaluate_conditions(
        model, split, conditions=("l", "lav"), on_predictions=seen.__setitem__
    )
    assert list(seen) == ["l", "lav"]
    np.testing.assert_allclose(seen["lav"], predict_split(model, split), rtol=1e-6)
    mae = regression_metrics(seen["l"], split.labels)["mae"]
    assert mae == pytest.approx(results["l"]["mae"])


@NOT_JAX
def test_frame_drop_curve_runs_p_0_to_1_seeded(mosi):
    data, model = mosi
    split = data["test"]
    curve = frame_drop_curve(model, split, seed=3)
    assert list(curve) == list(FRAME_DROP_RATES) and len(curve) == 11
    complete = evaluate_conditions(model, split, conditions=("lav",))["lav"]
    assert curve[0.0]["mae"] == pytest.approx(complete["mae"], rel=1e-5)
    # p = 1 drops every frame: the model sees zeros everywhere.
    zeros = {m: np.zeros_like(x) for m, x in split.features.items()}
    nothing = model.predict(zeros, batch_size=len(split.labels), verbose=0)
    assert curve[1.0]["mae"] == pytest.approx(
        regression_metrics(nothing, split.labels)["mae"], rel=1e-5
    )
    half = predict_split(model, split, drop_rate=0.5, seed=3)
    assert np.array_equal(half, predict_split(model, split, drop_rate=0.5, seed=3))
    assert not np.allclose(half, predict_split(model, split, drop_rate=0.5, seed=4))
    assert not np.allclose(half, predict_split(model, split))


@NOT_JAX
def test_multi_label_models_are_scored_per_emotion(iemocap):
    data, model = iemocap
    lines = []
    results = evaluate_conditions(
        model, data["test"], conditions=CONDITIONS[:6], progress=lines.append
    )
    for emotion in ("neutral", "happy", "sad", "angry"):
        assert 0.0 <= results["avg"][f"{emotion}_f1"] <= 1.0
    assert "mean_f1" in results["l"] and "Happy F1" in lines[0]


@NOT_JAX
def test_joint_representations_are_the_last_frame_of_encode(mosi):
    data, model = mosi
    split = data["test"]
    h = joint_representations(model, split, condition="l", drop_rate=0.0)
    assert h.shape == (split.num_samples, 3 * TINY["hidden_dim"])
    view = apply_condition(split.features, "l")
    expected = keras.ops.convert_to_numpy(model.encode(view, training=False))
    np.testing.assert_allclose(h, expected[:, -1, :], rtol=1e-4, atol=1e-5)
    half = joint_representations(model, split)  # Figure 6: {l}, p = 0.5
    assert np.array_equal(half, joint_representations(model, split))
    assert not np.allclose(half, h)


@NOT_JAX
def test_joint_representations_without_tensorflow(mosi, monkeypatch):
    # Without TensorFlow the batches come from `MaskedPyDataset`.
    from keras_umdf.data import MaskedPyDataset

    module = importlib.import_module("keras_umdf.evaluation.joint_representations")

    def py_batches(split, **kwargs):
        return MaskedPyDataset(split, training=False, **kwargs)

    data, model = mosi
    split = data["test"]
    monkeypatch.setattr(module, "evaluation_batches", py_batches)
    h = joint_representations(model, split, condition="l", drop_rate=0.0, batch_size=4)
    view = apply_condition(split.features, "l")
    expected = keras.ops.convert_to_numpy(model.encode(view, training=False))
    np.testing.assert_allclose(h, expected[:, -1, :], rtol=1e-4, atol=1e-5)


@NOT_JAX
def test_wrong_task_condition_or_rate_is_a_clear_error(mosi, iemocap):
    data, model = mosi
    with pytest.raises(ValueError, match="model's task is 'regression'"):
        evaluate_conditions(model, iemocap[0]["test"])
    with pytest.raises(ValueError, match="Unknown test condition 'lx'"):
        evaluate_conditions(model, data["test"], conditions=("lx",))
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]; received 1.5"):
        frame_drop_curve(model, data["test"], rates=(0.0, 1.5))
