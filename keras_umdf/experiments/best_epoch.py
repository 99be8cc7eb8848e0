"""Keeping the epoch with the best validation task metric, across interruptions.

MulT and MMSA test the model of the epoch whose validation score was best, not
the model of the last epoch: a longer run then never reports a model that
drifted past its best. `BestEpochCheckpoint` does it for a Keras `fit`: after
each epoch it compares the monitored validation metric (`selection_metric`:
val_mae, val_weighted_f1 or val_mean_f1) with the best so far and, when it
improved, writes the weights to `<folder>/epoch-<k>.weights.h5`.

The weights of the best epoch so far stay on disk until a later epoch beats it
and the training state of that later epoch has been saved; the best epoch and
value travel in that training state (`TrainingStateCheckpoint(extra_state=...)`).
So a run killed at any moment resumes with the best so far of its last saved
epoch, and its weights, and ends as an uninterrupted run does.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping

import keras

from keras_umdf.data.atomic_file import atomic_path
from keras_umdf.experiments.training_settings import SELECT_EPOCH_CHOICES
from keras_umdf.experiments.weights_file import save_weights_file


def check_select_epoch(select_epoch: str) -> str:
    """Returns `select_epoch` when it is one of `SELECT_EPOCH_CHOICES`.

    Raises:
        ValueError: any other value, named with the choices.
    """
    if select_epoch not in SELECT_EPOCH_CHOICES:
        raise ValueError(
            f"select_epoch must be one of {SELECT_EPOCH_CHOICES}; received "
            f"{select_epoch!r}. Use 'best' to keep the epoch with the best "
            "validation task metric or 'last' to keep the last epoch."
        )
    return select_epoch


@dataclasses.dataclass(frozen=True)
class KeptEpoch:
    """The epoch whose weights a training run kept, and why.

    Attributes:
        epoch: the kept epoch, 1-based.
        epochs: the run's number of epochs.
        rule: "best" (by the validation metric) or "last".
        metric: the monitored log key, e.g. "val_mae" (None for "last").
        value: its value at the kept epoch (None for "last").
        note: why "best" was asked for but the last epoch kept, if it was.
    """

    epoch: int
    epochs: int
    rule: str
    metric: str | None = None
    value: float | None = None
    note: str | None = None

    def describe(self) -> str:
        """One line for the progress output, e.g. "kept epoch 7 of 15
        (val_mae 0.912)"."""
        if self.rule == "best":
            return (
                f"kept epoch {self.epoch} of {self.epochs} "
                f"({self.metric} {self.value:.4g})"
            )
        return f"kept the last epoch ({self.epoch} of {self.epochs})"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping | None) -> KeptEpoch | None:
        if not record:
            return None
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in fields})


class BestEpochCheckpoint(keras.callbacks.Callback):
    """Writes the weights of the epoch with the best monitored metric.

    After each epoch it reads `monitor` from the logs; when the value is finite
    and strictly better than the best so far (so ties keep the earlier epoch,
    as Keras' `ModelCheckpoint(save_best_only=True)` does), it writes the
    weights (and the optimizer state, which `save_weights` includes) to
    `<directory>/epoch-<k>.weights.h5` through a temporary file, flushed to
    disk, and a rename. At the start of the next epoch, by which time the
    training state of the better epoch is saved, the older files go.

    Args:
        directory: the folder of the weight files (created when needed).
        monitor: the log key, e.g. "val_mae".
        mode: "min" or "max": which direction is better.

    Attributes:
        best_epoch: the best epoch so far, 1-based (0: none yet).
        best_value: its monitored value (None: none yet).

    Example:

    ```python
    best = BestEpochCheckpoint("out/best", monitor="val_mae", mode="min")
    model.fit(train, validation_data=valid, epochs=10, callbacks=[best])
    best.restore_best_weights(model)
    ```
    """

    def __init__(self, directory: str, monitor: str, mode: str):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(
                f"mode must be 'min' or 'max'; received {mode!r} (for {monitor!r})."
            )
        self.directory = os.fspath(directory)
        self.monitor = monitor
        self.mode = mode
        self.best_epoch = 0
        self.best_value = None

    def weights_path(self, epoch: int) -> str:
        """The weight file of a 1-based epoch."""
        return os.path.join(self.directory, f"epoch-{epoch}.weights.h5")

    def state(self) -> dict:
        """The best so far, JSON-ready, for the training state."""
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
        }

    def restore_state(self, state: Mapping | None) -> None:
        """Continues from a saved `state()` (None or {}: from scratch).

        Weight files of other epochs (written by epochs that the resumed run
        will redo) are removed.

        Raises:
            ValueError: the state monitored another metric, or its best
                epoch's weight file is missing.
        """
        state = dict(state or {})
        if state.get("best_epoch"):
            if (state.get("monitor"), state.get("mode")) != (self.monitor, self.mode):
                raise ValueError(
                    f"The saved training state selected epochs by "
                    f"{state.get('monitor')!r} ({state.get('mode')}), this run by "
                    f"{self.monitor!r} ({self.mode}); resume with the same "
                    "configuration, or start anew with --overwrite."
                )
            path = self.weights_path(int(state["best_epoch"]))
            if not os.path.exists(path):
                raise ValueError(
                    f"The saved training state keeps epoch {state['best_epoch']} as "
                    f"the best, but its weights {path!r} are missing; start anew "
                    "with --overwrite."
                )
            self.best_epoch = int(state["best_epoch"])
            self.best_value = float(state["best_value"])
        else:
            self.best_epoch, self.best_value = 0, None
        self._remove_others()

    def on_epoch_begin(self, epoch, logs=None):
        self._remove_others()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        value = float(keras.ops.convert_to_numpy(value))
        if not math.isfinite(value) or not self._better(value):
            return
        os.makedirs(self.directory, exist_ok=True)
        path = self.weights_path(epoch + 1)
        with atomic_path(path) as temporary:
            save_weights_file(self.model, temporary)
        self.best_epoch, self.best_value = epoch + 1, value

    def restore_best_weights(self, model) -> bool:
        """Loads the best epoch's weights into `model`; False if there is none."""
        if not self.best_epoch:
            return False
        model.load_weights(self.weights_path(self.best_epoch))
        return True

    def _better(self, value: float) -> bool:
        if self.best_value is None:
            return True
        if self.mode == "min":
            return value < self.best_value
        return value > self.best_value

    def _remove_others(self) -> None:
        if not os.path.isdir(self.directory):
            return
        keep = os.path.basename(self.weights_path(self.best_epoch))
        for name in os.listdir(self.directory):
            if name != keep:
                os.remove(os.path.join(self.directory, name))


def kept_epoch(best: BestEpochCheckpoint | None, epochs: int, note=None) -> KeptEpoch:
    """The epoch a run keeps: the best one `best` saw, else the last (`note`
    says why "best" was asked for but the last kept)."""
    if best is not None and best.best_epoch:
        return KeptEpoch(best.best_epoch, epochs, "best", best.monitor, best.best_value)
    if best is not None:
        note = (
            f"{best.monitor} was never logged as a finite number, so the last "
            "epoch is kept"
        )
    return KeptEpoch(epochs, epochs, "last", note=note)
