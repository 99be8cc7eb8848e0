"""One SDUMC unit of the missing-text comparison: trained on batches with every
stream present (it builds its two flows itself) and saved, or loaded when saved."""

from __future__ import annotations

import os

import keras

from keras_umdf import optimizers
from keras_umdf.data.atomic_file import atomic_path
from keras_umdf.data.batches import masked_batches
from keras_umdf.experiments.model_building import task_keras_metrics
from keras_umdf.experiments.training_settings import training_split
from keras_umdf.modalities import ALL_STREAMS


def train_sdumc(
    data, unit_dir: str, settings: dict, seed: int, train_samples: int, verbose
):
    """Trains (or, when its `model.keras` exists, loads) one SDUMC unit.

    The model takes the width, depth and heads of `settings` and is compiled
    with Adam (the settings' learning rate and warm-up) and the task's Keras
    metrics; it trains `settings["epochs"]` epochs on the first
    `train_samples` training clips (0: all), seeded by `seed`, and is saved to
    `<unit_dir>/model.keras` through a temporary file.
    """
    import keras_umdf

    model_path = os.path.join(unit_dir, "model.keras")
    if os.path.exists(model_path):
        return keras.saving.load_model(model_path)
    os.makedirs(unit_dir, exist_ok=True)
    split = training_split(data, train_samples)
    keras.utils.set_random_seed(seed)
    model = keras_umdf.SDUMC.for_dataset(
        data,
        hidden_dim=settings["hidden_dim"],
        num_heads=settings["num_heads"],
        num_layers=settings["num_layers"],
    )
    model.compile(
        optimizer=optimizers.adam(
            settings["learning_rate"],
            settings.get("warmup_steps", optimizers.WARMUP_STEPS),
        ),
        metrics=task_keras_metrics(data),
    )
    # Shuffled one-view batches with every stream present.
    batches = masked_batches(
        split,
        training=False,
        shuffle=True,
        condition=ALL_STREAMS,
        batch_size=settings["batch_size"],
        seed=seed,
    )
    model.fit(batches, epochs=int(settings["epochs"]), verbose=verbose)
    with atomic_path(model_path) as temporary:
        model.save(temporary)
    return model
