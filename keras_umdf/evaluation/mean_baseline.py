"""The row every results table carries: a model that ignores its inputs.

A model that has collapsed to a constant output still gets plausible-looking
numbers (an MAE of 1.4 on MOSI, a weighted F1 of 40 %); next to the score of
the best constant prediction it is plain to see. `mean_baseline` predicts, for
every test clip, what the training labels say without looking at the clip:

- regression: the mean training label;
- classification: the most frequent training class;
- multi-label: each label's most frequent training value (absent or present).

and scores that prediction with `task_metrics`, the functions that score the
models, on the same test split. The prediction does not depend on the
modalities present, so the row holds the same figures under every condition
and missing rate.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from keras_umdf.evaluation.task_metrics import TASK_KINDS
from keras_umdf.evaluation.task_metrics import task_metrics

BASELINE_ROWS = {
    "regression": "Predict the training mean",
    "classification": "Predict the training majority class",
    "multi_label": "Predict each label's training majority",
}
"""The baseline's row name in the tables, by task kind."""

_RULES = {
    "regression": "every clip gets the mean label of the {source}",
    "classification": "every clip gets the most frequent class of the {source}",
    "multi_label": "every clip gets each label's most frequent value in the {source}",
}


def constant_predictions(train_labels, num_samples: int, kind: str) -> np.ndarray:
    """The baseline's prediction for `num_samples` clips, as `task_metrics`
    takes predictions: (N, 1) scores, (N,) classes or (N, K) 0/1 flags.

    Ties between classes (or flag values) go to the smaller one.

    Raises:
        ValueError: no training labels, or an unknown kind.
    """
    labels = np.asarray(train_labels)
    if not labels.size:
        raise ValueError(
            "The baseline needs the training labels; received an empty array "
            f"(shape {labels.shape})."
        )
    if kind == "regression":
        return np.full((num_samples, 1), float(np.mean(labels)), np.float32)
    if kind == "classification":
        classes, counts = np.unique(labels.reshape(-1), return_counts=True)
        return np.full((num_samples,), int(classes[np.argmax(counts)]), np.int64)
    if kind == "multi_label":
        # Per label: present when more than half the training clips have it.
        majority = 2 * labels.reshape(len(labels), -1).sum(axis=0) > len(labels)
        return np.tile(majority.astype(np.int64), (num_samples, 1))
    raise ValueError(f"kind must be one of {TASK_KINDS}; received kind={kind!r}.")


def mean_baseline(
    train_labels,
    test_labels,
    kind: str,
    *,
    label_names: Sequence[str] | None = None,
    source: str = "train",
) -> dict:
    """The metrics of predicting the training labels' mean (or majority).

    Args:
        train_labels: the labels the constant comes from: the training clips a
            model was trained on.
        test_labels: the labels of the split the models are tested on.
        kind: the task kind (`task_kind`).
        label_names: multi-label only: the K names.
        source: the split `train_labels` come from, named in the tables (e.g.
            "train"; `keras-umdf evaluate` falls back to another split when
            the data has no training split).

    Returns:
        `{"name": row name, "source": ..., "num_samples": clips the constant
        came from, "description": one sentence, "metrics": task metrics}`,
        JSON-ready. Metrics undefined for a constant (Corr) are NaN.

    Example:

    ```python
    baseline = mean_baseline(data["train"].labels, data["test"].labels,
                             "regression")
    baseline["metrics"]["mae"]
    ```
    """
    test_labels = np.asarray(test_labels)
    predictions = constant_predictions(train_labels, len(test_labels), kind)
    with warnings.catch_warnings():
        # The correlation of a constant is undefined (NaN), as it should be.
        warnings.simplefilter("ignore", RuntimeWarning)
        metrics = task_metrics(predictions, test_labels, kind, label_names=label_names)
    num_samples = len(np.asarray(train_labels))
    where = f"{source} split ({num_samples} clips)"
    return {
        "name": BASELINE_ROWS[kind],
        "source": source,
        "num_samples": num_samples,
        "description": f"{BASELINE_ROWS[kind]}: {_RULES[kind].format(source=where)}, "
        "scored like the models.",
        "metrics": metrics,
    }


def baseline_row_name(baseline: Mapping) -> str:
    """The row name of a baseline in a table: its name, plus its split when it
    is not the training split ("Predict the training mean (valid split)")."""
    name = baseline["name"]
    source = baseline.get("source", "train")
    return name if source == "train" else f"{name} ({source} split)"


def with_baseline_row(rows: Mapping[str, Mapping], baseline: Mapping | None) -> dict:
    """`rows` (model -> column -> metrics) with the baseline's row added last,
    holding its metrics in every column the models have (None: unchanged)."""
    rows = dict(rows)
    if not baseline:
        return rows
    columns = []
    for results in rows.values():
        columns += [c for c in results if c not in columns]
    rows[baseline_row_name(baseline)] = {c: baseline["metrics"] for c in columns}
    return rows
