"""Everything a resumed run needs to continue exactly where it stopped.

Keras' `BackupAndRestore` restores the weights, the optimizer and the epoch. An
exact resume needs more, and this module saves it after every epoch:

- the model's weights and the optimizer's state (`save_weights` stores both);
- the states of the model's random seed generators (dropout), which
  `save_weights` leaves out, and on the PyTorch backend torch's global random
  state, which Keras' unseeded dropout draws from there;
- the number of finished epochs, from which the data pipeline re-derives the
  next epoch's shuffle and masks (`make_dataset(first_epoch=...)`);
- what other callbacks need to go on as they were (`extra`, e.g. the best
  epoch so far of `BestEpochCheckpoint`), in `latest.json` itself, so that it
  is committed with the epoch it belongs to.

Each epoch's state goes to a fresh folder and only then does `latest.json` (one
atomic rename) point at it, so a run killed at any moment finds a complete state.
Beside it, `checkpoint.keras` holds the whole model of the last finished epoch
(loadable with `keras.saving.load_model`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from collections.abc import Mapping

import keras
import numpy as np

from keras_umdf.data.atomic_file import atomic_path
from keras_umdf.data.atomic_file import write_text_atomically
from keras_umdf.experiments.weights_file import save_weights_file

LATEST = "latest.json"
WEIGHTS = "model.weights.h5"
RANDOMNESS = "randomness.npz"


def _seed_states(model) -> list:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _torch_rng():
    if keras.backend.backend() != "torch":
        return None
    import torch

    return torch.random


def save_training_state(
    model, directory: str, epochs_done: int, extra: Mapping | None = None
) -> None:
    """Saves the state after `epochs_done` finished epochs into `directory`.

    Args:
        model: the compiled model being trained.
        directory: the state folder (created if missing).
        epochs_done: how many epochs have finished.
        extra: JSON-serialisable state of other callbacks at this epoch, read
            back by `saved_extra_state`.
    """
    os.makedirs(directory, exist_ok=True)
    name = f"epoch-{epochs_done}"
    target = os.path.join(directory, name)
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(target)
    save_weights_file(model, os.path.join(target, WEIGHTS))
    arrays = {
        f"seed_{i}": keras.ops.convert_to_numpy(v.value)
        for i, v in enumerate(_seed_states(model))
    }
    torch_random = _torch_rng()
    if torch_random is not None:
        arrays["torch_rng"] = torch_random.get_rng_state().numpy()
    np.savez(os.path.join(target, RANDOMNESS), **arrays)
    pointer = os.path.join(directory, LATEST)
    write_text_atomically(
        pointer,
        json.dumps(
            {"epochs_done": int(epochs_done), "folder": name, "extra": extra or {}}
        ),
    )
    for entry in os.listdir(directory):
        if entry.startswith("epoch-") and entry != name:
            shutil.rmtree(os.path.join(directory, entry), ignore_errors=True)


def saved_epochs(directory: str) -> int:
    """How many finished epochs the state in `directory` holds (0 if none)."""
    pointer = os.path.join(directory, LATEST)
    if not os.path.exists(pointer):
        return 0
    with open(pointer) as file:
        return int(json.load(file)["epochs_done"])


def saved_extra_state(directory: str) -> dict:
    """The `extra` state saved with the last finished epoch ({} if none)."""
    pointer = os.path.join(directory, LATEST)
    if not os.path.exists(pointer):
        return {}
    with open(pointer) as file:
        return dict(json.load(file).get("extra") or {})


def restore_training_state(model, directory: str) -> int:
    """Restores the weights and optimizer of the last saved state.

    Call it on a freshly built, compiled model before `fit`; the random states
    are restored by `TrainingStateCheckpoint(..., resume=True)` when training
    begins (after `fit`'s own set-up, which may draw random numbers).

    Args:
        model: a model built and compiled as the saved one was.
        directory: the state folder.

    Returns:
        The number of finished epochs (0, and nothing restored, if there is no
        saved state).
    """
    folder, epochs_done = _latest(directory)
    if folder is None:
        return 0
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(os.path.join(folder, WEIGHTS))
    return epochs_done


def restore_randomness(model, directory: str) -> None:
    """Restores the random states saved with the last state (if any).

    Raises:
        ValueError: the saved state does not fit the model.
    """
    folder, _ = _latest(directory)
    if folder is None:
        return
    with np.load(os.path.join(folder, RANDOMNESS)) as arrays:
        states = _seed_states(model)
        saved = sorted(k for k in arrays.files if k.startswith("seed_"))
        if len(saved) != len(states):
            raise ValueError(
                f"The saved training state in {folder!r} has {len(saved)} random "
                f"seed states but the model has {len(states)}; it was saved by "
                "another model."
            )
        for i, variable in enumerate(states):
            variable.assign(arrays[f"seed_{i}"])
        torch_random = _torch_rng()
        if torch_random is not None and "torch_rng" in arrays.files:
            import torch

            torch_random.set_rng_state(torch.from_numpy(arrays["torch_rng"]))


def _latest(directory: str) -> tuple[str | None, int]:
    pointer = os.path.join(directory, LATEST)
    if not os.path.exists(pointer):
        return None, 0
    with open(pointer) as file:
        latest = json.load(file)
    return os.path.join(directory, latest["folder"]), int(latest["epochs_done"])


class TrainingStateCheckpoint(keras.callbacks.Callback):
    """Saves the training state and `checkpoint.keras` after every epoch.

    Args:
        directory: the state folder (`save_training_state`).
        checkpoint: path of the `.keras` file of the last finished epoch, or
            None for none.
        resume: restore the saved random states when training begins (with
            `restore_training_state` called before `fit`).
        extra_state: called after every epoch; what it returns is saved with
            the epoch (`save_training_state(..., extra=...)`). Callbacks whose
            state it reads must come before this one in `fit`'s list.

    Example:

    ```python
    first = restore_training_state(model, "out/training_state")
    model.fit(make_dataset(..., first_epoch=first), initial_epoch=first,
              epochs=10, callbacks=[TrainingStateCheckpoint("out/training_state",
                                                            resume=True)])
    ```
    """

    def __init__(
        self,
        directory: str,
        checkpoint: str | None = None,
        resume: bool = False,
        extra_state: Callable[[], Mapping] | None = None,
    ):
        super().__init__()
        self.directory = directory
        self.checkpoint = checkpoint
        self.resume = resume
        self.extra_state = extra_state

    def on_train_begin(self, logs=None):
        # After `fit`'s set-up (a symbolic build may draw random numbers), so
        # the next epoch starts from exactly the saved random states.
        if self.resume:
            restore_randomness(self.model, self.directory)

    def on_epoch_end(self, epoch, logs=None):
        if self.checkpoint:
            # Written first and renamed into place: the .keras file always
            # holds a whole model.
            with atomic_path(self.checkpoint) as temporary:
                self.model.save(temporary)
        extra = self.extra_state() if self.extra_state else None
        save_training_state(self.model, self.directory, epoch + 1, extra=extra)
