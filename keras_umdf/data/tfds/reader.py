"""TFDS datasets -> `MultimodalDataset`: `load_tfds` and `from_tfds`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.modalities import MODALITIES

_SPLIT_NAMES = {"validation": "valid"}
"""TFDS split name -> keras_umdf split name."""


def _stack(values: list, split: str, key: str) -> np.ndarray:
    shapes = {np.shape(v) for v in values}
    if len(shapes) > 1:
        raise ValueError(
            f"TFDS split {split!r}: {key!r} has examples of different shapes "
            f"{sorted(shapes)[:3]}; a MultimodalDataset needs one (T, d) per "
            "modality, so pad them to one length first."
        )
    return np.stack(values)


def from_tfds(
    datasets: Mapping[str, Any] | Any,
    *,
    task: str | None = None,
    num_classes: int | None = None,
    label_names: tuple[str, ...] | None = None,
    name: str = "tfds",
) -> MultimodalDataset:
    """Converts loaded TFDS splits (as the builders here write them) to a dataset.

    Each example must have "text", "audio" and/or "vision" float (T, d), "label"
    and optionally "id" (the features of `CmuMosi`, `CmuMosei`, `Iemocap`).
    The split "validation" becomes "valid".

    Args:
        datasets: split name -> `tf.data.Dataset` (what `tfds.load(name)`
            returns), or one `tf.data.Dataset` (read as the split "all").
        task: None infers it from the labels: float scalars are regression,
            int vectors (K,) multi-label classification with K labels, int
            scalars single-label classification (then pass `num_classes`).
        num_classes: classes of single-label classification.
        label_names: names of the labels; None gives IEMOCAP's emotions for 4
            multi-label labels.
        name: the dataset's name in reports.

    Returns:
        A validated `MultimodalDataset`.

    Raises:
        ValueError: examples without "label" or modalities, of differing
            shapes, or labels whose task cannot be inferred.

    Example:

    ```python
    import keras_umdf.data.tfds  # registers cmu_mosi, cmu_mosei, iemocap
    splits = tfds.load("cmu_mosi", data_dir=..., download_and_prepare_kwargs=...)
    data = keras_umdf.data.tfds.from_tfds(splits, name="mosi")
    ```
    """
    if not isinstance(datasets, Mapping):
        datasets = {"all": datasets}
    splits = {}
    multi_label = False
    for tfds_split, dataset in datasets.items():
        split = _SPLIT_NAMES.get(tfds_split, tfds_split)
        columns: dict[str, list] = {}
        for example in tfds.as_numpy(dataset):
            if not isinstance(example, Mapping):
                raise ValueError(
                    f"TFDS split {tfds_split!r} yields {type(example).__name__}, "
                    "not dicts of features; load it without as_supervised."
                )
            for key, value in example.items():
                columns.setdefault(key, []).append(value)
        modalities = [m for m in MODALITIES if m in columns]
        if "label" not in columns or not modalities:
            raise ValueError(
                f"TFDS split {tfds_split!r} has features {sorted(columns)}; it "
                f"needs 'label' and some of {MODALITIES}."
            )
        labels = _stack(columns["label"], tfds_split, "label")
        num = labels.shape[0]
        if "id" in columns:
            ids = np.array(
                [
                    v.decode("utf-8") if isinstance(v, bytes) else str(v)
                    for v in columns["id"]
                ]
            )
        else:
            ids = np.array([f"{split}$_${i}" for i in range(num)])
        splits[split] = Split(
            features={m: _stack(columns[m], tfds_split, m) for m in modalities},
            labels=labels,
            ids=ids,
        )
    first = next(iter(splits.values())).labels
    if task is None:
        if first.dtype.kind == "f":
            task = "regression"
        elif first.ndim == 2:
            task = "classification"
        elif num_classes is not None:
            task = "classification"
        else:
            raise ValueError(
                "Integer scalar labels: pass task='classification' and num_classes."
            )
    if task == "classification" and first.ndim == 2:
        multi_label = True
        num_classes = first.shape[1]
        if label_names is None and num_classes == len(IEMOCAP_EMOTIONS):
            label_names = IEMOCAP_EMOTIONS
    return MultimodalDataset(
        splits,
        task=task,
        num_classes=num_classes,
        multi_label=multi_label,
        label_names=label_names,
        name=name,
    )


def load_tfds(
    source: str | Mapping[str, Any],
    *,
    data_dir: str | os.PathLike | None = None,
    manual_dir: str | os.PathLike | None = None,
    split: str | list[str] | None = None,
    name: str | None = None,
    **from_tfds_kwargs: Any,
) -> MultimodalDataset:
    """Prepares (if needed) and loads a TFDS dataset as a `MultimodalDataset`.

    Args:
        source: a registered TFDS name ("cmu_mosi", "cmu_mosei", "iemocap",
            optionally with a config: "cmu_mosi/unaligned"), or already-loaded
            splits (passed to `from_tfds`).
        data_dir: TFDS's data directory (None: TFDS's default, ~/tensorflow_datasets).
        manual_dir: the folder holding the MulT pickle (see each builder's
            `MANUAL_DOWNLOAD_INSTRUCTIONS`); only needed the first time, when
            TFDS prepares the dataset.
        split: a split or list of them; None loads all.
        name: the dataset's name in reports (None: the TFDS name).
        **from_tfds_kwargs: passed to `from_tfds` (task, num_classes, label_names).

    Returns:
        A validated `MultimodalDataset`.

    Raises:
        FileNotFoundError: the pickle is not in `manual_dir` (the message says
            which file to put there).

    Example:

    ```python
    data = keras_umdf.data.load_dataset(
        "cmu_mosi", format="tfds", data_dir="~/tfds", manual_dir="~/mult_data"
    )
    ```
    """
    if isinstance(source, Mapping) or not isinstance(source, str):
        return from_tfds(source, name=name or "tfds", **from_tfds_kwargs)
    prepare = {}
    if manual_dir is not None:
        prepare["download_config"] = tfds.download.DownloadConfig(
            manual_dir=os.fspath(manual_dir)
        )
    datasets = tfds.load(
        source,
        split=split,
        data_dir=None if data_dir is None else os.fspath(data_dir),
        download_and_prepare_kwargs=prepare,
    )
    if isinstance(split, list):
        datasets = dict(zip(split, datasets, strict=True))
    elif not isinstance(datasets, Mapping):
        datasets = {split: datasets}
    return from_tfds(datasets, name=name or source, **from_tfds_kwargs)
