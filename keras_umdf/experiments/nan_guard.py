"""Stops training at the first non-finite loss, before anything saves it."""

from __future__ import annotations

import math

import keras


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; training stopped."""


class NaNGuard(keras.callbacks.Callback):
    """Raises `TrainingDiverged` at the first batch whose loss is NaN or inf.

    Unlike `keras.callbacks.TerminateOnNaN`, which lets the epoch end (and so
    lets checkpoint callbacks save the broken weights), raising stops `fit` at
    once: the checkpoint of the last finished epoch stays the last good one.

    Args:
        checkpoint: where the last good checkpoint is kept, for the message.

    Example:

    ```python
    model.fit(train, epochs=10, callbacks=[NaNGuard("out/checkpoint.keras")])
    ```
    """

    def __init__(self, checkpoint: str | None = None):
        super().__init__()
        self.checkpoint = checkpoint
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(keras.ops.convert_to_numpy(loss))
        if math.isfinite(loss):
            return
        if self.epoch == 0:
            kept = "no epoch had finished, so there is no checkpoint"
        else:
            kept = f"the last good checkpoint (epoch {self.epoch}) is kept" + (
                f" in {self.checkpoint}" if self.checkpoint else ""
            )
        raise TrainingDiverged(
            f"the training loss became {loss} at epoch {self.epoch + 1}, batch "
            f"{batch + 1}; training stopped and {kept}. Lower the learning rate "
            "(--learning-rate) and start again (a new --output, or --overwrite)."
        )
