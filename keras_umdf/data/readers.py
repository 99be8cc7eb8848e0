"""One entry point for every data source: `load_dataset(source, format=...)`."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from keras_umdf.data import _pickled_splits as splits_io
from keras_umdf.data.csd import load_csd
from keras_umdf.data.mmsa_pickle import load_mmsa_pickle
from keras_umdf.data.mult_pickle import infer_mult_dataset
from keras_umdf.data.mult_pickle import load_mult_pickle
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.features.store import is_feature_folder
from keras_umdf.features.store import load_features

FORMATS = ("mult", "mmsa", "pickle", "csd", "tfds", "synthetic", "features")
"""The formats `load_dataset` reads ("pickle": MulT or MMSA, told apart by keys)."""

SYNTHETIC_NAMES = ("mosi", "mosei", "iemocap")
"""Names that select a built-in synthetic dataset (`keras_umdf.data.synthetic`)."""

TFDS_NAMES = ("cmu_mosi", "cmu_mosei")
"""TFDS names recognised without `format="tfds"` (IEMOCAP's needs it)."""

# The keys that tell the two pickle formats apart.
_MMSA_KEYS = ("regression_labels", "classification_labels")


def infer_format(source: Any) -> str:
    """The format `load_dataset` would read `source` as.

    - a dict of paths (modality -> .csd, plus "labels") -> "csd";
    - "mosi", "mosei", "iemocap" -> "synthetic";
    - "cmu_mosi", "cmu_mosei" (optionally "/aligned" or "/unaligned") -> "tfds";
    - a path ending in .csd -> "csd" (it needs a dict of feature files, so this
      only leads to a helpful error);
    - MMSA's `aligned_50.pkl` / `unaligned_50.pkl` -> "mmsa";
    - MulT's `*_data.pkl` / `*_data_noalign.pkl` -> "mult";
    - any other .pkl / .pickle -> "pickle": read once and told apart by its
      keys ("regression_labels" is MMSA's, "labels" MulT's);
    - a folder `keras-umdf features` wrote -> "features".

    Raises:
        ValueError: nothing about `source` names a format.
    """
    if isinstance(source, Mapping):
        return "csd"
    if isinstance(source, str) and source.lower() in SYNTHETIC_NAMES:
        return "synthetic"
    if isinstance(source, str) and source.split("/")[0].lower() in TFDS_NAMES:
        return "tfds"
    if isinstance(source, (str, os.PathLike)):
        if is_feature_folder(source):
            return "features"
        base = os.path.basename(os.fspath(source)).lower()
        stem, ext = os.path.splitext(base)
        if ext == ".csd":
            return "csd"
        if ext in (".pkl", ".pickle"):
            if stem.startswith(("aligned_", "unaligned_")):
                return "mmsa"
            if stem.endswith(("_data", "_data_noalign")):
                return "mult"
            return "pickle"
    raise ValueError(
        f"Cannot tell the format of {source!r}; pass format= one of {FORMATS} "
        f"(or a synthetic name {SYNTHETIC_NAMES})."
    )


def load_dataset(
    source: str | os.PathLike | Mapping | None,
    format: str | None = None,
    **kwargs: Any,
) -> MultimodalDataset:
    """Loads any supported source into a `MultimodalDataset`.

    | format | source | reader |
    |---|---|---|
    | "mult" | MulT pickle path (`mosi_data.pkl`...) | `load_mult_pickle` |
    | "mmsa" | MMSA pickle path (`aligned_50.pkl`...) | `load_mmsa_pickle` |
    | "pickle" | a MulT or MMSA pickle under any name | told apart by its keys |
    | "csd" | {"text": .csd, "audio": .csd, "vision": .csd, "labels": .csd} | `load_csd` |
    | "tfds" | "cmu_mosi", "cmu_mosei", "iemocap" (+ "/unaligned") | `keras_umdf.data.tfds.load_tfds` |
    | "synthetic" | "mosi", "mosei", "iemocap" | `keras_umdf.data.synthetic` |
    | "features" | a folder `keras-umdf features` wrote | `keras_umdf.features.load_features` |

    A synthetic name is also accepted as the format (`load_dataset(None,
    format="mosi")`). TensorFlow is imported only for "tfds". With `format=None` the format is inferred by
    `infer_format`; a .pkl that names neither format is read once and told
    apart by its keys.

    Args:
        source: see the table.
        format: one of `FORMATS`, a synthetic name, or None to infer it.
        **kwargs: passed to the reader (e.g. `folds="mosi"` for csd,
            `label="classification"` for mmsa, `seed=1` for synthetic,
            `data_dir=` and `manual_dir=` for tfds).

    Returns:
        The `MultimodalDataset`.

    Raises:
        ValueError: unknown format, or one that cannot be inferred.
        Whatever the reader raises (missing files, keys, inconsistent shapes).

    Example:

    ```python
    data = keras_umdf.data.load_dataset("data/mosi_data.pkl")  # MulT
    data = keras_umdf.data.load_dataset("MOSI/unaligned_50.pkl")  # MMSA
    demo = keras_umdf.data.load_dataset("mosi", scale=0.1)  # synthetic
    ```
    """
    if format is None:
        format = infer_format(source)
    elif not isinstance(format, str):
        raise ValueError(f"format must be a string; received format={format!r}.")
    else:
        format = format.lower()
    if format in SYNTHETIC_NAMES:
        if source is not None and source != format:
            raise ValueError(
                f"format={format!r} selects the synthetic {format} dataset, but "
                f"source={source!r} names something else; use "
                f"load_dataset({format!r}) or format='synthetic'."
            )
        source, format = format, "synthetic"
    if format == "synthetic":
        if not isinstance(source, str) or source.lower() not in SYNTHETIC_NAMES:
            raise ValueError(
                f"A synthetic dataset is one of {SYNTHETIC_NAMES}; received {source!r}."
            )
        synthetic = importlib.import_module("keras_umdf.data.synthetic").synthetic
        return synthetic(source.lower(), **kwargs)
    if format == "mult":
        return load_mult_pickle(source, **kwargs)
    if format == "mmsa":
        return load_mmsa_pickle(source, **kwargs)
    if format == "pickle":
        return _load_unknown_pickle(source, **kwargs)
    if format == "csd":
        return _load_csd(source, **kwargs)
    if format == "features":
        return load_features(source, **kwargs)
    if format == "tfds":
        load_tfds = importlib.import_module("keras_umdf.data.tfds").load_tfds
        return load_tfds(source, **kwargs)
    raise ValueError(
        f"Unknown format {format!r}; use one of {FORMATS} or a synthetic name "
        f"{SYNTHETIC_NAMES}."
    )


def _load_csd(source: Any, **kwargs: Any) -> MultimodalDataset:
    if not isinstance(source, Mapping):
        raise ValueError(
            "format='csd' takes a dict of .csd paths, one per modality plus the "
            "label file: {'text': ..., 'audio': ..., 'vision': ..., 'labels': "
            f"...}} (or labels=... as a keyword); received {source!r}."
        )
    features = dict(source)
    if "labels" in features:
        if "labels" in kwargs:
            raise ValueError(
                "The label file is given twice: as source['labels'] and labels=."
            )
        kwargs["labels"] = features.pop("labels")
    if "labels" not in kwargs:
        raise ValueError(
            "format='csd' needs the label file: add 'labels': path to the dict "
            "or pass labels=path."
        )
    return load_csd(features, **kwargs)


def _load_unknown_pickle(source: Any, **kwargs: Any) -> MultimodalDataset:
    raw, path = splits_io.load_splits(source, "dataset")
    entries = list(raw.values())
    kwargs.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    if any(k in e for e in entries for k in _MMSA_KEYS):
        return load_mmsa_pickle(raw, **kwargs)
    if any("labels" in e for e in entries):
        kwargs.setdefault("dataset", infer_mult_dataset(path))
        return load_mult_pickle(raw, **kwargs)
    keys = sorted({str(k) for e in entries for k in e})
    raise ValueError(
        f"{path!r} is neither a MulT pickle (splits with 'labels') nor an MMSA "
        f"pickle (splits with 'regression_labels'); its splits have keys {keys}."
    )
