"""The paper's inter-modality test protocol (Table 1)."""

from __future__ import annotations

import numpy as np

from keras_umdf.evaluation.regression_metrics import regression_metrics
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import INCOMPLETE_CONDITIONS


def evaluate_conditions(
    model,
    split,
    *,
    conditions=CONDITIONS,
    drop_rate: float = 0.0,
    batch_size: int = 128,
    seed: int = 0,
    progress=None,
) -> dict[str, dict[str, float]]:
    """Tests a regression model under each test condition of the paper.

    Each condition keeps only the listed modalities (e.g. "la" keeps language and
    audio, vision is zero), optionally dropping frames of the kept modalities at
    `drop_rate`; the masks are reproducible from `seed`. "avg" is the mean of
    each metric over the six incomplete conditions, as the paper's "Avg." column,
    when they were all evaluated.

    Args:
        model: a trained `UMDF` (regression).
        split: the `keras_umdf.data.Split` to test on.
        conditions: the condition codes to evaluate.
        drop_rate: frame-drop rate p in [0, 1] applied within each condition.
        batch_size: evaluation batch size.
        seed: seed of the evaluation masks.
        progress: optional callable receiving one line per finished condition.

    Returns:
        condition -> `regression_metrics` dict (plus "avg").
    """
    from keras_umdf.data import make_dataset

    results = {}
    labels = np.asarray(split.labels).reshape(-1)
    for condition in conditions:
        dataset = make_dataset(
            split,
            training=False,
            batch_size=batch_size,
            seed=seed,
            condition=condition,
            drop_rate=drop_rate,
        )
        predictions = model.predict(dataset, verbose=0)
        results[condition] = regression_metrics(predictions, labels)
        if progress is not None:
            metrics = results[condition]
            progress(
                f"condition {{{','.join(condition)}}}: MAE {metrics['mae']:.3f} "
                f"F1 {100 * metrics['non0_f1']:.2f}"
            )
    if all(c in results for c in INCOMPLETE_CONDITIONS):
        keys = results[INCOMPLETE_CONDITIONS[0]].keys()
        results["avg"] = {
            k: float(np.mean([results[c][k] for c in INCOMPLETE_CONDITIONS]))
            for k in keys
        }
    return results
