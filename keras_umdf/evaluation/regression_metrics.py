"""Sentiment regression metrics exactly as the field computes them (MMSA)."""

from __future__ import annotations

import warnings

import numpy as np


def weighted_f1(y_true, y_pred) -> float:
    """F1 averaged over classes, weighted by each class's support in `y_true`.

    The same as scikit-learn's `f1_score(y_true, y_pred, average="weighted")`:
    the classes are those present in either array, a class's F1 is
    `2 TP / (|true == c| + |pred == c|)` (0 where that is 0 / 0, scikit-learn's
    `zero_division=0`), and classes that never occur in `y_true` weigh 0.
    Weighted F1 is not symmetric: the truth comes first, as in MMSA.

    Args:
        y_true: true classes (any hashable dtype: bool, int), N values.
        y_pred: predicted classes, N values.

    Returns:
        The weighted F1 as a fraction in [0, 1]; NaN when N is 0.

    Example:

    >>> weighted_f1([1, 1, 0, 0], [1, 0, 0, 0])  # doctest: +ELLIPSIS
    0.733...
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must hold the same number of values; received "
            f"{y_true.size} and {y_pred.size}."
        )
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


def _check_pair(predictions, labels) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predictions, np.float64).reshape(-1)
    t = np.asarray(labels, np.float64).reshape(-1)
    if p.shape != t.shape or p.size == 0:
        raise ValueError(
            f"predictions and labels must hold the same number (> 0) of values; "
            f"received {p.size} and {t.size} (shapes {np.shape(predictions)} and "
            f"{np.shape(labels)})."
        )
    for name, values in (("predictions", p), ("labels", t)):
        bad = int(np.sum(~np.isfinite(values)))
        if bad:
            raise ValueError(
                f"{name} contain {bad} NaN or inf values out of {values.size}; "
                "metrics need finite numbers (check the model's output or the "
                "data loader)."
            )
    return p, t


def regression_metrics(predictions, labels) -> dict[str, float]:
    """MOSI/MOSEI metrics with MMSA's definitions (`metricsTop.py`).

    With `p` the predictions and `t` the labels, both flattened:

    - `mae`: `mean(|p - t|)`, no clipping.
    - `corr`: Pearson correlation of `p` and `t`. Undefined when either is
      constant: reported as NaN with a `RuntimeWarning`.
    - `acc7`: clip both to [-3, 3], then the accuracy of `np.round(p) ==
      np.round(t)` (`np.round` rounds half to even: 2.5 -> 2, -0.5 -> -0).
      `acc5`: the same with [-2, 2].
    - `has0_acc2` / `has0_f1`: all samples, binary classes `t >= 0` and
      `p >= 0` (a zero label counts as positive).
    - `non0_acc2` / `non0_f1`: samples with `t == 0` dropped, classes `t > 0`
      and `p > 0`. NaN, with a `RuntimeWarning`, when every label is 0.

    F1 is `weighted_f1(truth, prediction)`: scikit-learn's
    `f1_score(truth, prediction, average="weighted")`, truth first. (MulT's
    `eval_mosei_senti` passes the prediction first, which weights the classes by
    predicted support instead and can differ in the third decimal.) The UMDF
    tables report `mae` and `non0_f1`. MMSA rounds to 4 decimals; this does not.

    Args:
        predictions: predicted sentiment scores, any shape with N values
            (e.g. the model's (N, 1) output).
        labels: true scores in [-3, 3], N values.

    Returns:
        A dict of floats with the keys above (accuracies and F1 as fractions
        in [0, 1]).

    Raises:
        ValueError: the two hold different numbers of values, none, or NaN/inf.

    Example:

    >>> m = regression_metrics([0.5, -1.2, 2.6], [1.0, -1.0, 3.0])
    >>> round(m["mae"], 4), m["acc7"], m["non0_f1"]
    (0.3667, 0.6666666666666666, 1.0)
    """
    p, t = _check_pair(predictions, labels)
    if np.all(p == p[0]) or np.all(t == t[0]):
        warnings.warn(
            f"Corr is undefined for constant predictions or labels (received "
            f"{p.size} values; predictions constant: {bool(np.all(p == p[0]))}, "
            f"labels constant: {bool(np.all(t == t[0]))}); reported as NaN.",
            RuntimeWarning,
            stacklevel=2,
        )
        corr = float("nan")
    else:
        corr = float(np.corrcoef(p, t)[0, 1])
    nonzero = t != 0
    if nonzero.any():
        non0_acc2 = float(np.mean((p[nonzero] > 0) == (t[nonzero] > 0)))
        non0_f1 = weighted_f1(t[nonzero] > 0, p[nonzero] > 0)
    else:
        warnings.warn(
            f"Non0 Acc-2 and F1 are undefined when every label is 0 (received "
            f"{t.size} labels); reported as NaN.",
            RuntimeWarning,
            stacklevel=2,
        )
        non0_acc2 = non0_f1 = float("nan")
    return {
        "mae": float(np.mean(np.abs(p - t))),
        "corr": corr,
        "acc7": _multiclass_accuracy(p, t, 3.0),
        "acc5": _multiclass_accuracy(p, t, 2.0),
        "has0_acc2": float(np.mean((p >= 0) == (t >= 0))),
        "has0_f1": weighted_f1(t >= 0, p >= 0),
        "non0_acc2": non0_acc2,
        "non0_f1": non0_f1,
    }
