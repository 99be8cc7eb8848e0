"""The constant baseline: the training mean (or majority) scored like a model."""

import math

import numpy as np
import pytest

from keras_umdf.evaluation.mean_baseline import constant_predictions
from keras_umdf.evaluation.mean_baseline import mean_baseline
from keras_umdf.evaluation.mean_baseline import with_baseline_row
from keras_umdf.evaluation.report import read_results
from keras_umdf.evaluation.report import results_document
from keras_umdf.evaluation.report import results_markdown
from keras_umdf.evaluation.report import write_results

pytestmark = pytest.mark.only_backend("tensorflow")  # NumPy and text only


def test_regression_predicts_the_training_mean_for_every_clip():
    train = np.array([-1.0, 0.5, 2.0, 1.5], "float32")  # mean 0.75
    test = np.array([0.75, 2.75, -1.25, 1.0], "float32")
    baseline = mean_baseline(train, test, "regression")
    assert baseline["metrics"]["mae"] == pytest.approx((0 + 2 + 2 + 0.25) / 4)
    assert math.isnan(baseline["metrics"]["corr"])  # undefined for a constant
    # Non0 F1: every clip predicted positive; the truth has 3 positives, 1 negative.
    assert baseline["metrics"]["non0_f1"] == pytest.approx(0.75 * (2 * 3 / 7))
    assert baseline["name"] == "Predict the training mean"
    assert baseline["source"] == "train" and baseline["num_samples"] == 4
    assert "mean label of the train split (4 clips)" in baseline["description"]


def test_classification_predicts_the_majority_training_class():
    train = np.array([2, 0, 2, 1, 2])
    test = np.array([2, 2, 0, 1])
    predicted = constant_predictions(train, 4, "classification")
    np.testing.assert_array_equal(predicted, [2, 2, 2, 2])
    metrics = mean_baseline(train, test, "classification")["metrics"]
    assert metrics["accuracy"] == 0.5
    # Class 2: F1 2 * 2 / (2 + 4) weighted by support 2; classes 0, 1: F1 0.
    assert metrics["weighted_f1"] == pytest.approx((2 / 3) * 2 / 4)


def test_multi_label_predicts_each_labels_majority_value():
    names = ("neutral", "happy", "sad", "angry")
    train = np.array([[1, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1]])
    test = np.array([[1, 0, 0, 1], [0, 1, 1, 0]])
    predicted = constant_predictions(train, 2, "multi_label")
    np.testing.assert_array_equal(predicted, [[1, 0, 0, 1], [1, 0, 0, 1]])
    metrics = mean_baseline(train, test, "multi_label", label_names=names)["metrics"]
    assert metrics["neutral_acc"] == 0.5 and metrics["mean_acc"] == 0.5
    assert set(metrics) >= {f"{n}_f1" for n in names} | {"mean_f1"}


def test_errors_name_what_was_received():
    with pytest.raises(ValueError, match=r"empty array \(shape \(0,\)\)"):
        constant_predictions(np.array([]), 3, "regression")
    with pytest.raises(ValueError, match="received kind='ranking'"):
        constant_predictions(np.array([1.0]), 3, "ranking")


def test_the_row_holds_the_baseline_in_every_column_and_names_another_split():
    rows = {"UMDF": {"l": {"mae": 0.9}, "lav": {"mae": 0.7}}}
    baseline = mean_baseline([0.0, 2.0], [1.0, 3.0], "regression", source="valid")
    table = with_baseline_row(rows, baseline)
    assert list(table) == ["UMDF", "Predict the training mean (valid split)"]
    row = table["Predict the training mean (valid split)"]
    assert list(row) == ["l", "lav"] and row["l"]["mae"] == pytest.approx(1.0)
    assert with_baseline_row(rows, None) == rows


def lines_before(markdown, line):
    """The start of the line above `line`: the row name."""
    lines = markdown.splitlines()
    above = lines[lines.index(line) - 1]
    return above[: above.index("|", 1) + 1]


def test_results_files_carry_the_baseline_row_and_its_source(tmp_path):
    conditions = {c: {"mae": 0.8, "non0_f1": 0.7} for c in ("l", "lav")}
    runs = {name: {0: {"conditions": conditions}} for name in ("UMDF", "w/o L_fea")}
    baseline = mean_baseline([0.0, 2.0], [1.0, 3.0, -1.0], "regression")
    document = results_document(runs, kind="regression", baseline=baseline)
    json_path, md_path = write_results(document, tmp_path)
    markdown = open(md_path).read()
    # Table 1 layout and Table 3 layout both end with the row.
    rows = [
        line
        for line in markdown.splitlines()
        if line.startswith("| Predict the training mean |")
    ]
    assert len(rows) == 2 and lines_before(markdown, rows[0]) == "| w/o L_fea |"
    assert rows[0] == "| Predict the training mean | 1.333 / 53.33 | 1.333 / 53.33 |"
    assert rows[1] == "| Predict the training mean | 53.33 | 53.33 |"
    assert "mean label of the train split (2 clips), scored like the models" in markdown
    back = read_results(json_path)
    assert back["baseline"]["metrics"]["mae"] == pytest.approx(4 / 3)
    assert math.isnan(back["baseline"]["metrics"]["corr"])  # null in the file
    assert results_markdown(back) == markdown
