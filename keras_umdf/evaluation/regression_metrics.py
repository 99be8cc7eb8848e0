"""Sentiment regression metrics exactly as the field computes them (MMSA)."""

from __future__ import annotations

import warnings

import numpy as np


def weighted_f1(y_true, y_pred) -> float:
    """F1 averaged over classes, weighted by each class's support in `y_true`.

    The same as scikit-learn's `f1_score(y_true, y_pred, average="weighted")`:
    the classes are those present in either array, and a class's F1 is 0 where
    its precision or recall is undefined.
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    total = 0.0
    for label in np.union1d(y_true, y_pred):
        true_c, pred_c = y_true == label, y_pred == label
        tp = float(np.sum(true_c & pred_c))
        denominator = float(np.sum(true_c) + np.sum(pred_c))
        f1 = 2.0 * tp / denominator if denominator else 0.0
        total += f1 * float(np.sum(true_c))
    return total / len(y_true) if len(y_true) else float("nan")


def _multiclass_accuracy(predictions, labels, bound: float) -> float:
    p = np.round(np.clip(predictions, -bound, bound))
    t = np.round(np.clip(labels, -bound, bound))
    return float(np.mean(p == t))


def regression_metrics(predictions, labels) -> dict[str, float]:
    """MOSI/MOSEI metrics with MMSA's definitions.

    - `mae`: mean |p - t|, no clipping; `corr`: Pearson correlation (NaN, with a
      warning, when either array is constant).
    - `acc7` / `acc5`: clip both to [-3, 3] / [-2, 2], then accuracy of
      `np.round` (round half to even) of prediction against label.
    - `has0_acc2` / `has0_f1`: positives are `t >= 0` and `p >= 0`, all samples.
    - `non0_acc2` / `non0_f1`: samples with `t == 0` dropped, positives `> 0`.
    F1 is the support-weighted F1 of the two classes (scikit-learn's
    `average="weighted"`, truth first).

    Args:
        predictions: predicted sentiment scores, any shape with N values.
        labels: true scores in [-3, 3], N values.

    Returns:
        A dict of floats (accuracies and F1 as fractions in [0, 1]).
    """
    p = np.asarray(predictions, np.float64).reshape(-1)
    t = np.asarray(labels, np.float64).reshape(-1)
    if p.shape != t.shape or p.size == 0:
        raise ValueError(
            f"predictions and labels must hold the same number (> 0) of values; "
            f"received {p.size} and {t.size}."
        )
    if not np.isfinite(p).all():
        raise ValueError(
            f"predictions contain {int(np.sum(~np.isfinite(p)))} NaN or inf values."
        )
    if np.std(p) == 0 or np.std(t) == 0:
        warnings.warn(
            "Corr is undefined for constant predictions or labels; reported as NaN.",
            RuntimeWarning,
            stacklevel=2,
        )
        corr = float("nan")
    else:
        corr = float(np.corrcoef(p, t)[0, 1])
    nonzero = t != 0
    return {
        "mae": float(np.mean(np.abs(p - t))),
        "corr": corr,
        "acc7": _multiclass_accuracy(p, t, 3.0),
        "acc5": _multiclass_accuracy(p, t, 2.0),
        "has0_acc2": float(np.mean((p >= 0) == (t >= 0))),
        "has0_f1": weighted_f1(t >= 0, p >= 0),
        "non0_acc2": (
            float(np.mean((p[nonzero] > 0) == (t[nonzero] > 0)))
            if nonzero.any()
            else float("nan")
        ),
        "non0_f1": (
            weighted_f1(t[nonzero] > 0, p[nonzero] > 0)
            if nonzero.any()
            else float("nan")
        ),
    }
