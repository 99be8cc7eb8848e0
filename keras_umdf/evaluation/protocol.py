"""The paper's test protocol: seven modality conditions (Tables 1-2) and frame-drop
curves (Figures 3-4), for every task.

A test batch is one view of the test split under a fixed condition: the modalities
the condition does not name are zero, and frames of the present ones are dropped at
rate p (`keras_umdf.data.make_dataset(..., training=False)`). The model predicts
each batch and `task_metrics` scores the whole split.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

import numpy as np

from keras_umdf.data.batches import masked_batches
from keras_umdf.evaluation.metric_format import describe_metrics
from keras_umdf.evaluation.metric_format import format_condition
from keras_umdf.evaluation.task_metrics import check_labels_fit
from keras_umdf.evaluation.task_metrics import task_kind
from keras_umdf.evaluation.task_metrics import task_metrics
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import FRAME_DROP_RATES
from keras_umdf.modalities import INCOMPLETE_CONDITIONS
from keras_umdf.modalities import condition_modalities


def evaluation_batches(
    split,
    *,
    condition: str = "lav",
    drop_rate: float = 0.0,
    batch_size: int = 128,
    seed: int = 0,
):
    """Test batches of a split under one condition and frame-drop rate.

    `masked_batches`: the tf.data pipeline (`make_dataset`) where TensorFlow is
    installed, else `MaskedPyDataset`; both key the frame drops by (seed,
    modality, sample index), so the masks do not depend on the batch size.
    """
    return masked_batches(
        split,
        training=False,
        batch_size=batch_size,
        seed=seed,
        condition=condition,
        drop_rate=drop_rate,
    )


def predict_split(
    model,
    split,
    *,
    condition: str = "lav",
    drop_rate: float = 0.0,
    batch_size: int = 128,
    seed: int = 0,
) -> np.ndarray:
    """The model's outputs for every sample of a split under one condition.

    Args:
        model: a trained `UMDF`.
        split: a `keras_umdf.data.Split`.
        condition: the present modalities, e.g. "la" (vision missing).
        drop_rate: frame-drop rate p in [0, 1] within the present modalities.
        batch_size: prediction batch size.
        seed: seed of the frame drops.

    Returns:
        The stacked outputs: (N, 1) scores, (N, C) or (N, K, 2) logits.
    """
    dataset = evaluation_batches(
        split,
        condition=condition,
        drop_rate=drop_rate,
        batch_size=batch_size,
        seed=seed,
    )
    return np.asarray(model.predict(dataset, verbose=0))


def evaluate_conditions(
    model,
    split,
    *,
    conditions: Sequence[str] = CONDITIONS,
    drop_rate: float = 0.0,
    batch_size: int = 128,
    seed: int = 0,
    label_names: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    on_predictions: Callable[[str, np.ndarray], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Tests a model under each inter-modality condition of the paper.

    Each condition keeps only the listed modalities (e.g. "la" keeps language
    and audio, vision is zero), optionally dropping frames of the kept
    modalities at `drop_rate`; the masks are reproducible from `seed`. "avg" is
    the mean of each metric over the six incomplete conditions, the paper's
    "Avg." column, when they were all evaluated.

    Args:
        model: a trained `UMDF` of any task (regression, classification,
            multi-label); the metrics follow its task (`task_metrics`).
        split: the `keras_umdf.data.Split` to test on.
        conditions: the condition codes to evaluate (default all seven).
        drop_rate: frame-drop rate p in [0, 1] applied within each condition.
        batch_size: evaluation batch size.
        seed: seed of the evaluation masks.
        label_names: multi-label only: the names of the K labels.
        progress: optional callable receiving one line per finished condition.
        on_predictions: optional callable receiving each condition's code and
            the model's outputs under it (e.g. to check the complete
            condition's outputs for a collapse without predicting again).

    Returns:
        condition -> metrics dict (plus "avg").

    Example:

    ```python
    results = evaluate_conditions(model, data["test"], progress=print)
    results["l"]["mae"], results["avg"]["non0_f1"]
    ```
    """
    kind = task_kind(model)
    check_labels_fit(kind, split.labels)
    conditions = _check_conditions(conditions)
    results = {}
    for condition in conditions:
        predictions = predict_split(
            model,
            split,
            condition=condition,
            drop_rate=drop_rate,
            batch_size=batch_size,
            seed=seed,
        )
        results[condition] = task_metrics(
            predictions, split.labels, kind, label_names=label_names
        )
        if on_predictions is not None:
            on_predictions(condition, predictions)
        if progress is not None:
            progress(
                f"condition {format_condition(condition)}: "
                + describe_metrics(results[condition], kind, label_names=label_names)
            )
    if all(c in results for c in INCOMPLETE_CONDITIONS):
        results["avg"] = mean_metrics([results[c] for c in INCOMPLETE_CONDITIONS])
    return results


def frame_drop_curve(
    model,
    split,
    *,
    rates: Sequence[float] = FRAME_DROP_RATES,
    condition: str = "lav",
    batch_size: int = 128,
    seed: int = 0,
    label_names: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[float, dict[str, float]]:
    """Metrics against the intra-modality missing rate p (Figures 3-4).

    Every point drops each frame of the present modalities independently with
    probability p, keyed by (seed, modality, sample index): the points are
    reproducible, and with one seed a frame dropped at p is also dropped at
    every larger p, so the curve is not noisier than the model.

    Args:
        model: a trained `UMDF` of any task.
        split: the split to test on.
        rates: the rates p in [0, 1] (default 0.0, 0.1, ..., 1.0).
        condition: the modalities present (default "lav", complete, as the
            paper's figures).
        batch_size: evaluation batch size.
        seed: seed of the frame drops.
        label_names: multi-label only: the names of the K labels.
        progress: optional callable receiving one line per finished point.

    Returns:
        rate p -> metrics dict, in the order of `rates`.

    Example:

    ```python
    curve = frame_drop_curve(model, data["test"])
    [curve[p]["mae"] for p in FRAME_DROP_RATES]
    ```
    """
    kind = task_kind(model)
    check_labels_fit(kind, split.labels)
    condition_modalities(condition)
    rates = _check_rates(rates)
    curve = {}
    for rate in rates:
        predictions = predict_split(
            model,
            split,
            condition=condition,
            drop_rate=rate,
            batch_size=batch_size,
            seed=seed,
        )
        curve[rate] = task_metrics(
            predictions, split.labels, kind, label_names=label_names
        )
        if progress is not None:
            progress(
                f"missing rate p={rate:.1f} {format_condition(condition)}: "
                + describe_metrics(curve[rate], kind, label_names=label_names)
            )
    return curve


def evaluate_protocol(
    model,
    split,
    *,
    conditions: Sequence[str] = CONDITIONS,
    rates: Sequence[float] | None = FRAME_DROP_RATES,
    curve_condition: str = "lav",
    batch_size: int = 128,
    seed: int = 0,
    label_names: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    on_predictions: Callable[[str, np.ndarray], None] | None = None,
) -> dict[str, dict]:
    """The whole protocol for one trained model: conditions and the curve.

    Args:
        model: a trained `UMDF`.
        split: the split to test on.
        conditions: the inter-modality conditions (empty: none).
        rates: the frame-drop rates of the curve (None or empty: no curve).
        curve_condition: the modalities present along the curve.
        batch_size: evaluation batch size.
        seed: seed of every evaluation mask.
        label_names: multi-label only: the names of the K labels.
        progress: optional callable receiving one line per finished point.
        on_predictions: passed to `evaluate_conditions`.

    Returns:
        `{"conditions": {condition: metrics, "avg": ...}, "frame_drop":
        {p: metrics}}`; a part not asked for is left out.
    """
    results = {}
    if conditions:
        results["conditions"] = evaluate_conditions(
            model,
            split,
            conditions=conditions,
            batch_size=batch_size,
            seed=seed,
            label_names=label_names,
            progress=progress,
            on_predictions=on_predictions,
        )
    if rates:
        results["frame_drop"] = frame_drop_curve(
            model,
            split,
            rates=rates,
            condition=curve_condition,
            batch_size=batch_size,
            seed=seed,
            label_names=label_names,
            progress=progress,
        )
    return results


def mean_metrics(results: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over several metrics dicts (e.g. the six
    incomplete conditions of the "Avg." column). A NaN stays NaN."""
    keys = results[0].keys()
    return {k: float(np.mean([r[k] for r in results])) for k in keys}


def _check_conditions(conditions) -> tuple[str, ...]:
    if isinstance(conditions, str):
        conditions = (conditions,)
    checked = []
    for condition in conditions:
        condition_modalities(condition)
        letters = condition.lower()
        # Letter codes in the paper's order ("al" -> "la"); named ones as they are.
        if set(letters) <= set("lav"):
            letters = "".join(c for c in "lav" if c in letters)
        checked.append(letters)
    if len(set(checked)) != len(checked):
        raise ValueError(f"conditions repeat a condition; received {conditions!r}.")
    return tuple(checked)


def _check_rates(rates) -> tuple[float, ...]:
    checked = []
    for rate in rates:
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)):
            raise ValueError(f"A frame-drop rate is a number; received {rate!r}.")
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"Frame-drop rates lie in [0, 1]; received {rate!r}.")
        checked.append(round(float(rate), 6))
    if not checked:
        raise ValueError("rates is empty; pass at least one frame-drop rate.")
    return tuple(checked)
