"""Loading a saved keras_umdf model with clear errors."""

from __future__ import annotations

import os
import zipfile


def load_umdf_model(path):
    """Loads a `.keras` file saved from a keras_umdf model.

    Args:
        path: the `.keras` file (e.g. `model.keras` of a `keras-umdf train` run).

    Returns:
        The model (e.g. a `keras_umdf.UMDF`).

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: the file is not a Keras model file, or not a keras_umdf
            model (one without a task and an `encode` method).
    """
    import keras

    import keras_umdf  # noqa: F401  (registers the classes for loading)

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"No model file {path!r}; pass the model.keras that `keras-umdf train` "
            "wrote."
        )
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.keras")
        hint = f" (did you mean {candidate!r}?)" if os.path.exists(candidate) else ""
        raise ValueError(f"--model {path!r} is a directory, not a .keras file{hint}.")
    if not path.endswith(".keras") or not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path!r} is not a Keras model file (a .keras zip archive); pass the "
            "model.keras that `keras-umdf train` wrote."
        )
    try:
        model = keras.saving.load_model(path)
    except Exception as error:  # Keras raises many types for a foreign archive.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(
            f"Could not load {path!r} as a keras_umdf model: "
            f"{type(error).__name__}: {reason[:300]}"
        ) from error
    if getattr(model, "task", None) not in ("regression", "classification") or not (
        hasattr(model, "encode") and hasattr(model, "modality_dims")
    ):
        raise ValueError(
            f"{path!r} holds a {type(model).__name__}, not a keras_umdf model "
            "(UMDF); pass a model saved by keras_umdf."
        )
    return model


def check_same_extractors(model, data) -> None:
    """Refuses data whose features another extractor made than the model's.

    A model trained on features from `keras_umdf.features` records their
    extractors (`feature_extractors`); data from another extractor, another
    version of it, or with no record at all (a MulT or MMSA pickle) would give
    predictions without meaning even where the widths agree.

    Raises:
        ValueError: the records differ, naming both.
    """
    trained = getattr(model, "feature_extractors", None)
    if trained is None:
        return
    given = getattr(data, "feature_extractors", None)
    if given is None or _comparable(given) != _comparable(trained):
        raise ValueError(
            f"The model was trained on features from {_extractor_names(trained)} "
            f"but the data {getattr(data, 'name', '')!r} comes from "
            f"{_extractor_names(given) if given else 'no recorded extractor'}; "
            "extract its features with the same extractors (keras-umdf features, "
            "or keras-umdf predict CLIP, which runs the model's own)."
        )


def _comparable(specs) -> list:
    """Extractor records in a form that compares equal whatever their order."""
    return sorted(tuple(sorted(spec.items())) for spec in specs)


def _extractor_names(specs) -> str:
    return ", ".join(
        f"{s['modality']}: {s['name']} v{s['version']} ({s['width']} wide"
        + (f", {s['length']} rows per clip)" if "length" in s else ")")
        for s in specs
    )


def check_model_fits_data(model, data) -> None:
    """Raises a clear ValueError when a model's inputs or task do not fit data.

    Args:
        model: a keras_umdf model.
        data: a `MultimodalDataset`.
    """
    check_same_extractors(model, data)
    model_dims = dict(model.modality_dims)
    data_dims = {m: d for m, d in data.modality_dims.items() if m in model_dims}
    missing = sorted(set(model_dims) - set(data.modality_dims))
    if missing or data_dims != model_dims:
        raise ValueError(
            f"The model was built for modality widths {model_dims} but the data "
            f"{getattr(data, 'name', '')!r} has {dict(data.modality_dims)}; use the "
            "dataset (and feature set) the model was trained on."
        )
    model_task = (model.task, bool(getattr(model, "multi_label", False)))
    data_task = (data.task, bool(getattr(data, "multi_label", False)))
    if model_task != data_task:
        raise ValueError(
            f"The model's task is {model.task!r} (multi_label={model_task[1]}) but "
            f"the data's is {data.task!r} (multi_label={data_task[1]}); use data "
            "of the task the model was trained for."
        )
    num_classes = getattr(model, "num_classes", None)
    if data.task == "classification" and num_classes != data.num_classes:
        raise ValueError(
            f"The model predicts {num_classes} classes but the data has "
            f"{data.num_classes}; use the dataset the model was trained on."
        )
