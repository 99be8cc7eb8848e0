"""Save a model to a .keras file and load it back, as a user would."""

import keras


def save_and_load(model, tmp_path):
    """Saves `model` under `tmp_path` and loads it with no custom_objects."""
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.saving.load_model(path)
