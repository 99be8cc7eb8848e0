import numpy as np
import pytest
from sklearn.metrics import accuracy_score
from sklearn.metrics import f1_score

from keras_umdf.data import IEMOCAP_EMOTIONS
from keras_umdf.evaluation import classification_metrics
from keras_umdf.evaluation import multilabel_metrics

pytestmark = pytest.mark.only_backend("tensorflow")  # NumPy only


def mult_iemocap_reference(logits, flags, names):
    """MulT's eval_iemocap, written out: per label, argmax over (absent, present),
    then accuracy and scikit-learn's weighted F1 with the truth first."""
    out = {}
    for k, name in enumerate(names):
        predicted = np.argmax(logits[:, k], axis=1)
        out[f"{name}_acc"] = accuracy_score(flags[:, k], predicted)
        out[f"{name}_f1"] = f1_score(flags[:, k], predicted, average="weighted")
    out["mean_acc"] = np.mean([out[f"{n}_acc"] for n in names])
    out["mean_f1"] = np.mean([out[f"{n}_f1"] for n in names])
    return out


def test_classification_matches_sklearn_for_logits_and_indices(rng):
    labels = rng.integers(0, 3, 80)
    logits = rng.normal(size=(80, 3)) + 1.5 * np.eye(3)[labels]
    predicted = np.argmax(logits, axis=1)
    expected = {
        "accuracy": accuracy_score(labels, predicted),
        "weighted_f1": f1_score(labels, predicted, average="weighted"),
    }
    assert 0.4 < expected["accuracy"] < 0.95  # neither trivial nor hopeless
    for predictions in (logits, predicted, np.exp(logits)):
        got = classification_metrics(predictions, labels)
        assert got == pytest.approx(expected, abs=1e-12)
    # (N, 1) labels are the same labels.
    assert classification_metrics(logits, labels[:, None]) == pytest.approx(expected)


def test_classification_with_a_class_never_predicted_or_never_true(rng):
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 3, 0])  # class 2 never predicted, 3 never true
    got = classification_metrics(predicted, labels)
    expected = f1_score(labels, predicted, average="weighted", zero_division=0)
    assert got["weighted_f1"] == pytest.approx(expected, abs=1e-12)
    assert got["accuracy"] == pytest.approx(0.5)


def test_multilabel_matches_mult_definition(rng):
    flags = (rng.random((60, 4)) < [0.3, 0.2, 0.15, 0.25]).astype(int)
    logits = rng.normal(size=(60, 4, 2))
    logits[..., 1] += 1.2 * (flags - 0.5)  # informative, not perfect
    got = multilabel_metrics(logits, flags)
    expected = mult_iemocap_reference(logits, flags, IEMOCAP_EMOTIONS)
    assert list(got) == [
        "neutral_acc", "neutral_f1", "happy_acc", "happy_f1", "sad_acc", "sad_f1",
        "angry_acc", "angry_f1", "mean_acc", "mean_f1",
    ]  # fmt: skip
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_multilabel_f1_is_weighted_not_positive_class_f1():
    # All absent, predicted absent: the positive-class F1 would be 0 (or undefined);
    # the weighted F1 the field reports is 1.
    flags = np.zeros((5, 1), int)
    got = multilabel_metrics(np.zeros((5, 1)), flags, label_names=("happy",))
    assert got["happy_f1"] == 1.0 and got["happy_acc"] == 1.0


def test_multilabel_accepts_decisions_and_raw_mult_labels(rng):
    flags = rng.integers(0, 2, (30, 4))
    logits = rng.normal(size=(30, 4, 2))
    from_logits = multilabel_metrics(logits, flags)
    from_decisions = multilabel_metrics(np.argmax(logits, -1), flags)
    one_hot = np.eye(2)[flags]  # MulT's pickle stores (N, 4, 2)
    from_raw = multilabel_metrics(logits, one_hot)
    assert from_decisions == pytest.approx(from_logits)
    assert from_raw == pytest.approx(from_logits)
    named = multilabel_metrics(logits[:, :2], flags[:, :2], label_names=("a", "b"))
    assert set(named) == {"a_acc", "a_f1", "b_acc", "b_f1", "mean_acc", "mean_f1"}
    assert named["b_f1"] == pytest.approx(from_logits["happy_f1"])


def test_classification_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(5, 3\) and \(4,\)"):
        classification_metrics(np.zeros((5, 3)), np.zeros(4, int))
    with pytest.raises(ValueError, match=r"\(0, 3\) and \(0,\)"):
        classification_metrics(np.zeros((0, 3)), np.zeros(0, int))
    with pytest.raises(ValueError, match="1 NaN"):
        classification_metrics(np.array([[np.nan, 1.0], [0.0, 1.0]]), [0, 1])
    with pytest.raises(ValueError, match="labels must be integer"):
        classification_metrics(np.zeros((2, 2)), [0.5, 1.0])
    with pytest.raises(ValueError, match="C >= 2"):
        classification_metrics(np.zeros((2, 1)), [0, 1])


def test_multilabel_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(6, 3, 2\) and \(6, 4\)"):
        multilabel_metrics(np.zeros((6, 3, 2)), np.zeros((6, 4), int))
    with pytest.raises(ValueError, match=r"\(6, 4, 2\) and \(5, 4\)"):
        multilabel_metrics(np.zeros((6, 4, 2)), np.zeros((5, 4), int))
    with pytest.raises(ValueError, match=r"one column per label name"):
        multilabel_metrics(np.zeros((6, 2, 2)), np.zeros((6, 2), int))
    with pytest.raises(ValueError, match=r"\(0, 4, 2\)"):
        multilabel_metrics(np.zeros((0, 4, 2)), np.zeros((0, 4), int))
    with pytest.raises(ValueError, match="NaN"):
        multilabel_metrics(np.full((2, 4, 2), np.nan), np.zeros((2, 4), int))
    with pytest.raises(ValueError, match=r"0/1 flags; received values \[0, 2\]"):
        multilabel_metrics(np.zeros((2, 4, 2)), np.array([[0, 2, 0, 0]] * 2))
    with pytest.raises(ValueError, match="threshold probabilities"):
        multilabel_metrics(np.full((2, 4), 0.7), np.zeros((2, 4), int))
    with pytest.raises(ValueError, match="distinct"):
        multilabel_metrics(np.zeros((2, 2, 2)), np.zeros((2, 2)), label_names="aa")
