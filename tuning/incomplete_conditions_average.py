"""`IncompleteConditionsAverage`: the protocol's "Avg." as a validation metric."""

from __future__ import annotations

import keras
import numpy as np

from keras_umdf.data.batches import masked_batches
from keras_umdf.modalities import INCOMPLETE_CONDITIONS
from keras_umdf.modalities import condition_modalities


class IncompleteConditionsAverage(keras.callbacks.Callback):
    """Logs each compiled metric averaged over the incomplete test conditions.

    At the end of every epoch, evaluates the model on the validation split once
    per incomplete-modality condition of the paper's protocol ({l}, {a}, {v},
    {l,a}, {l,v}, {a,v}: only the listed modalities present, the others zero)
    and writes the mean of each compiled metric over the conditions into the
    epoch's logs as "val_avg_<metric>" (e.g. "val_avg_mae"): the "Avg." column
    of the paper's Table 1, computed on the validation split, so that KerasTuner
    (or `EarlyStopping`, `ModelCheckpoint`) can use it as the objective. Each
    condition's metric is computed over the whole split (the compiled Keras
    metrics accumulate over batches), then the conditions are averaged with
    equal weight, as the paper does.

    Costs `len(conditions)` validation passes per epoch. Put it before the
    callbacks that read the value (KerasTuner appends its own after the
    user's).

    Args:
        split: the validation `keras_umdf.data.Split`.
        batch_size: evaluation batch size.
        seed: seed of the evaluation masks (they only matter for frame drops).
        conditions: the conditions to average; default the six incomplete
            ones. Conditions naming a modality the split lacks are refused.
        prefix: prefix of the logged names.

    Example:

    ```python
    model.compile(metrics=[keras_umdf.metrics.SentimentMAE()])
    average = IncompleteConditionsAverage(data["valid"], batch_size=64)
    model.fit(train, validation_data=valid, callbacks=[average])
    # history has "val_mae" (complete modalities) and "val_avg_mae"
    ```
    """

    def __init__(
        self,
        split,
        *,
        batch_size: int = 128,
        seed: int = 0,
        conditions=INCOMPLETE_CONDITIONS,
        prefix: str = "val_avg_",
    ):
        super().__init__()
        conditions = tuple(conditions)
        if not conditions:
            raise ValueError("conditions is empty; pass at least one test condition.")
        available = set(split.features)
        for condition in conditions:
            missing = set(condition_modalities(condition)) - available
            if missing:
                raise ValueError(
                    f"Condition {condition!r} keeps {sorted(missing)}, which the "
                    f"validation split does not have (it has {sorted(available)}); "
                    "pass conditions of its modalities only."
                )
        self.split = split
        self.batch_size = batch_size
        self.seed = seed
        self.conditions = conditions
        self.prefix = prefix
        self._datasets = {}

    def __deepcopy__(self, memo):
        # KerasTuner deep-copies the search's callbacks for every trial; the
        # split's arrays are read-only here, so the copy shares them.
        return type(self)(
            self.split,
            batch_size=self.batch_size,
            seed=self.seed,
            conditions=self.conditions,
            prefix=self.prefix,
        )

    def _dataset(self, condition: str):
        if condition not in self._datasets:
            self._datasets[condition] = masked_batches(
                self.split,
                training=False,
                batch_size=self.batch_size,
                seed=self.seed,
                condition=condition,
            )
        return self._datasets[condition]

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        values = {}
        for condition in self.conditions:
            results = self.model.evaluate(
                self._dataset(condition), verbose=0, return_dict=True
            )
            for key, value in results.items():
                if key != "loss":
                    values.setdefault(key, []).append(float(value))
        for key, per_condition in values.items():
            logs[self.prefix + key] = float(np.mean(per_condition))
