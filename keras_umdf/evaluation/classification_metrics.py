"""Classification metrics: accuracy, weighted F1 and IEMOCAP's per-emotion scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.evaluation.regression_metrics import weighted_f1


def _finite(name: str, values: np.ndarray) -> None:
    if np.issubdtype(values.dtype, np.floating):
        bad = int(np.sum(~np.isfinite(values)))
        if bad:
            raise ValueError(
                f"{name} contain {bad} NaN or inf values (shape {values.shape}); "
                "metrics need finite numbers (check the model's output)."
            )


def _as_int(name: str, values: np.ndarray) -> np.ndarray:
    if values.dtype == bool:
        return values.astype(np.int64)
    if not np.issubdtype(values.dtype, np.number) or np.any(values != np.round(values)):
        raise ValueError(
            f"{name} must be integer class indices; received dtype {values.dtype} "
            f"with non-integer values (shape {values.shape})."
        )
    return values.astype(np.int64)


def classification_metrics(predictions, labels) -> dict[str, float]:
    """Accuracy and support-weighted F1 of single-label classification.

    The predicted class is the argmax over the last axis of (N, C) logits or
    probabilities (the first maximum on ties, like `np.argmax`), or the given
    (N,) class indices. F1 is scikit-learn's `f1_score(labels, predicted,
    average="weighted")`: each class's F1 weighted by its support in `labels`.

    Args:
        predictions: (N, C) logits or probabilities, or (N,) class indices.
        labels: (N,) integer class indices ((N, 1) is accepted).

    Returns:
        `{"accuracy": ..., "weighted_f1": ...}`, fractions in [0, 1].

    Raises:
        ValueError: the sample counts differ or are 0, predictions hold NaN or
            inf, or labels (or (N,) predictions) are not integers.

    Example:

    >>> classification_metrics([[2.0, 0.1], [0.3, 1.0], [0.0, -1.0]], [0, 1, 1])
    {'accuracy': 0.6666666666666666, 'weighted_f1': 0.6666666666666666}
    """
    p = np.asarray(predictions)
    t = np.asarray(labels)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if p.ndim not in (1, 2) or t.ndim != 1 or p.shape[0] != t.shape[0] or not t.size:
        raise ValueError(
            "classification_metrics needs predictions (N, C) or (N,) and labels "
            f"(N,) with the same N > 0; received shapes {p.shape} and {t.shape}."
        )
    _finite("predictions", p)
    t = _as_int("labels", t)
    if p.ndim == 2:
        if p.shape[1] < 2:
            raise ValueError(
                f"predictions (N, C) need C >= 2 classes; received shape {p.shape}. "
                "Pass (N,) class indices instead."
            )
        predicted = np.argmax(p, axis=-1)
    else:
        predicted = _as_int("predictions", p)
    return {
        "accuracy": float(np.mean(predicted == t)),
        "weighted_f1": weighted_f1(t, predicted),
    }


def multilabel_metrics(
    predictions, labels, label_names: Sequence[str] = IEMOCAP_EMOTIONS
) -> dict[str, float]:
    """Per-label accuracy and weighted F1 of K binary tasks (IEMOCAP's emotions).

    MulT's `eval_iemocap` (`src/eval_metrics.py`), which the IEMOCAP tables of
    the missing-modality papers follow: for each label k separately, the
    prediction is the argmax over (absent, present) of its two logits, and

    - `<name>_acc` is the accuracy of that binary decision against the flag;
    - `<name>_f1` is its weighted F1, scikit-learn's `f1_score(flags,
      predicted, average="weighted")`: the F1 of "absent" and of "present",
      weighted by their support (not the F1 of the positive class alone).

    `mean_acc` and `mean_f1` are the plain means over the K labels.

    Args:
        predictions: (N, K, 2) logits or probabilities over (absent, present), as
            `keras_umdf.UMDF(task="classification", multi_label=True)` outputs,
            or (N, K) 0/1 decisions.
        labels: (N, K) 0/1 flags; MulT's raw (N, K, 2) one-hot labels are
            accepted and reduced by argmax, as MulT's data loader does.
        label_names: the K names, in the label order. Default: IEMOCAP's
            ("neutral", "happy", "sad", "angry"), MulT's order.

    Returns:
        `{"<name>_acc": ..., "<name>_f1": ..., ..., "mean_acc": ...,
        "mean_f1": ...}`, fractions in [0, 1].

    Raises:
        ValueError: the shapes do not match each other or `label_names`, N is
            0, predictions hold NaN or inf, or flags are not 0/1.

    Example:

    ```python
    logits = model.predict(test)  # (N, 4, 2)
    m = multilabel_metrics(logits, data["test"].labels)
    m["happy_f1"], m["mean_f1"]
    ```
    """
    names = tuple(label_names)
    if len(set(names)) != len(names) or not names:
        raise ValueError(
            f"label_names must be distinct and non-empty; received {label_names!r}."
        )
    p = np.asarray(predictions)
    t = np.asarray(labels)
    if t.ndim == 3 and t.shape[-1] == 2:
        _finite("labels", t)
        t = np.argmax(t, axis=-1)
    expected = f"(N, {len(names)}, 2) or (N, {len(names)})"
    if (
        p.ndim not in (2, 3)
        or (p.ndim == 3 and p.shape[-1] != 2)
        or t.ndim != 2
        or p.shape[:2] != t.shape
        or t.shape[1] != len(names)
        or not t.shape[0]
    ):
        raise ValueError(
            f"multilabel_metrics needs predictions {expected} and labels "
            f"(N, {len(names)}) with the same N > 0, one column per label name "
            f"{names}; received shapes {p.shape} and {t.shape}."
        )
    _finite("predictions", p)
    _finite("labels", t)
    predicted = np.argmax(p, axis=-1) if p.ndim == 3 else p
    for name, values in (("labels", t), ("predictions", predicted)):
        if not np.isin(values, (0, 1)).all():
            raise ValueError(
                f"{name} must be 0/1 flags; received values "
                f"{np.unique(values)[:10].tolist()}. Pass (N, K, 2) logits over "
                "(absent, present) or threshold probabilities first."
            )
    t = t.astype(np.int64)
    predicted = predicted.astype(np.int64)
    results: dict[str, float] = {}
    for k, name in enumerate(names):
        results[f"{name}_acc"] = float(np.mean(predicted[:, k] == t[:, k]))
        results[f"{name}_f1"] = weighted_f1(t[:, k], predicted[:, k])
    results["mean_acc"] = float(np.mean([results[f"{n}_acc"] for n in names]))
    results["mean_f1"] = float(np.mean([results[f"{n}_f1"] for n in names]))
    return results
