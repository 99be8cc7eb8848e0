"""SDUMC's claim, end to end: the double flow helps when the transcript is missing."""

import keras
import numpy as np
import pytest

from keras_umdf import SDUMC
from keras_umdf.data import synthetic
from keras_umdf.data.masking import apply_condition
from keras_umdf.evaluation.regression_metrics import regression_metrics

# The same network without the double flow: flow 1 (audio, vision, and the text
# imagined from them and the pseudo text) trained alone on the task, i.e. on
# exactly what the "text_missing" condition gives it, with no real-text flow, no
# distillation and no RNC.
SINGLE_FLOW = dict(
    lambda_full=0.0,
    lambda_missing=1.0,
    lambda_mia=0.0,
    lambda_interaction=0.0,
    lambda_fused=0.0,
    lambda_rnc=0.0,
)


@pytest.mark.slow
@pytest.mark.only_backend("torch")  # the fastest here: no compile step
def test_double_flow_beats_the_single_flow_with_the_text_missing():
    """Synthetic MOSEI with a pseudo text (small widths, 10 frames), 400
    training clips, 6 epochs; the test split's 466 clips under "text_missing"
    (audio, vision, pseudo text; no real text). Same architecture, initial
    weights, data order and budget; only the objective differs (SDUMC's
    defaults vs flow 1 alone). Mean over three seeds (data and weights).

    At this size one run's MAE moves by about 0.015 between seeds and its F1 by
    about 0.02, comparable to the gain, so a single seed would be a coin toss
    now and then. Measured with this configuration (torch, one thread per run)
    over seeds 0-17: SDUMC's MAE lower in 16 of 18 runs (mean gain 0.019), its
    F1 higher in 14 of 18 (mean gain 0.012); every mean over three consecutive
    seeds favoured SDUMC on both (MAE gains 0.010-0.026, F1 gains
    0.001-0.027; seeds 0-2: 0.014 and 0.017). The test asserts the MAE gain
    and an F1 no more than 0.01 below the single flow's.
    """
    results = {"double": [], "single": []}
    for seed in (0, 1, 2):
        data = synthetic(
            "mosei",
            seed=seed,
            scale=0.1,
            sequence_length=10,
            modality_dims={"text": 32, "audio": 16, "vision": 8},
            pseudo_text=True,
            pseudo_text_dim=32,
        )
        train = data["train"].subset(np.arange(400))
        x = apply_condition(train.features, "all_streams")
        y = train.labels.reshape(-1, 1)
        test = data["test"]
        text_missing = apply_condition(test.features, "text_missing")
        for name, weights in (("double", {}), ("single", SINGLE_FLOW)):
            keras.utils.set_random_seed(seed)
            model = SDUMC.for_dataset(
                data, hidden_dim=8, num_heads=2, num_layers=1, dropout=0.1, **weights
            )
            model.compile(optimizer=keras.optimizers.Adam(1e-3))
            model.fit(x, y, epochs=6, batch_size=32, verbose=0)
            predictions = model.predict(text_missing, batch_size=256, verbose=0)
            metrics = regression_metrics(predictions, test.labels)
            results[name].append((metrics["mae"], metrics["non0_f1"]))
        baseline = np.mean(np.abs(test.labels - train.labels.mean()))
        # Both learned something: better than predicting the training mean.
        assert max(r[-1][0] for r in results.values()) < baseline, results
    (double_mae, double_f1), (single_mae, single_f1) = (
        np.mean(results[name], axis=0) for name in ("double", "single")
    )
    assert double_mae < single_mae, results
    assert double_f1 > single_f1 - 0.01, results
