"""Reader of the MMSA dataset pickles (`aligned_50.pkl`, `unaligned_50.pkl`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from keras_umdf.data import _pickled_splits as splits_io
from keras_umdf.data.multimodal_dataset import SPLITS
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.modalities import MODALITIES

MMSA_CLASSES = ("negative", "neutral", "positive")
"""MMSA's `classification_labels` 0, 1, 2 (its annotations Negative/Neutral/Positive)."""

MMSA_LABELS = ("regression", "classification")


def load_mmsa_pickle(
    source: str | os.PathLike | Mapping,
    *,
    label: str = "regression",
    splits: Sequence[str] | None = None,
    neg_inf_to_zero: bool = True,
    name: str | None = None,
) -> MultimodalDataset:
    """Reads an MMSA pickle (Mao et al., 2022) into a `MultimodalDataset`.

    MMSA's `aligned_50.pkl` / `unaligned_50.pkl` are a dict split ("train",
    "valid", "test") -> {"raw_text", "id" ("video$_$clip"), "text" (N, 50, 768)
    BERT or (N, 50, 300) GloVe, "text_bert" (N, 3, 50) token ids / mask /
    segment ids, "audio", "vision", "audio_lengths" and "vision_lengths"
    (unaligned only), "annotations", "classification_labels",
    "regression_labels"}. The pickle is read with `safe_pickle_load`.

    - Features: "text", "audio", "vision". "text_bert" holds token ids, not
      features, and is left out ("raw_text" and "annotations" too).
    - Labels: "regression_labels" (N,) in [-3, 3] for `label="regression"`;
      "classification_labels" (N,) in {0, 1, 2} (negative, neutral, positive)
      for `label="classification"` (3 classes, `label_names=MMSA_CLASSES`).
    - Unaligned files: "audio_lengths" / "vision_lengths" become
      `Split.lengths["audio"]` / `["vision"]`, the number of valid leading
      frames. MMSA records each clip's length before padding or truncating to
      the array's T, so lengths above T are clipped to T.
    - -inf values (MMSA's audio has them) become 0 when `neg_inf_to_zero` is
      True, which is what MMSA's own loader does (`audio[audio == -inf] = 0`);
      any other NaN or inf is an error.
    - ids are kept as MMSA writes them ("video$_$clip"), decoded to str.

    Args:
        source: path of the pickle, or the dict already loaded from one.
        label: "regression" or "classification".
        splits: the splits to read; None reads whichever of "train", "valid",
            "test" the file has.
        neg_inf_to_zero: map -inf features to 0 (MMSA's behaviour).
        name: the dataset's name in reports; None uses the file name's stem
            ("aligned_50") prefixed with "mmsa-".

    Returns:
        A validated `MultimodalDataset`.

    Raises:
        FileNotFoundError: `source` does not exist.
        KeyError: a requested split, or a split's "text"/"audio"/"vision"/label
            array, is missing (the message lists what the file has).
        ValueError: inconsistent shapes or lengths (named with file, split and
            key), an unknown `label`, or non-finite features.
        keras_umdf.data.safe_pickle.UnsafePickleError: the pickle would run code.
        pickle.UnpicklingError: the file is not a pickle.

    Example:

    ```python
    data = keras_umdf.data.load_mmsa_pickle("MOSI/Processed/unaligned_50.pkl")
    data.modality_dims  # {"text": 768, "audio": 5, "vision": 20}
    data["train"].lengths["audio"][:3]
    ```
    """
    if label not in MMSA_LABELS:
        raise ValueError(
            f"label must be one of {MMSA_LABELS}; received label={label!r}."
        )
    if isinstance(source, Mapping):
        path = splits_io.source_path(source, "<MMSA dict>")
        raw = splits_io.check_splits(source, path, "MMSA")
        default_name = "mmsa"
    else:
        raw, path = splits_io.load_splits(source, "MMSA")
        stem = os.path.splitext(os.path.basename(path))[0]
        default_name = f"mmsa-{stem}"
    chosen = splits_io.select_splits(raw, path, splits, SPLITS)
    result = {s: _read_split(raw[s], path, s, label) for s in chosen}
    try:
        if label == "classification":
            return MultimodalDataset(
                result,
                task="classification",
                num_classes=len(MMSA_CLASSES),
                label_names=MMSA_CLASSES,
                name=name or default_name,
                neg_inf_to_zero=neg_inf_to_zero,
            )
        return MultimodalDataset(
            result,
            task="regression",
            name=name or default_name,
            neg_inf_to_zero=neg_inf_to_zero,
        )
    except ValueError as error:
        raise ValueError(f"{path!r}: {error}") from error


def _read_split(entry: Mapping, path: str, split: str, label: str) -> Split:
    key = f"{label}_labels"
    labels = splits_io.field(entry, key, path, split)
    if labels.ndim == 0 or labels.size != labels.shape[0]:
        raise ValueError(
            f"{path!r} split {split!r}: {key!r} must be (N,); received shape "
            f"{labels.shape}."
        )
    num = labels.shape[0]
    splits_io.check_not_empty(num, path, split)
    labels = labels.reshape(num)
    if label == "classification":
        if labels.dtype.kind == "f" and np.any(np.mod(labels, 1) != 0):
            raise ValueError(
                f"{path!r} split {split!r}: 'classification_labels' must be "
                "integers 0, 1, 2."
            )
        labels = labels.astype(np.int32)
    else:
        labels = labels.astype(np.float32)
    features = {m: splits_io.features(entry, m, path, split, num) for m in MODALITIES}
    lengths = {}
    for modality in ("audio", "vision"):
        value = splits_io.field(
            entry, f"{modality}_lengths", path, split, required=False
        )
        if value is None:
            continue
        if value.shape != (num,) or value.dtype.kind not in "iuf":
            raise ValueError(
                f"{path!r} split {split!r}: '{modality}_lengths' must be ({num},) "
                f"numbers; received shape {value.shape}, dtype {value.dtype}."
            )
        if np.any(value < 0):
            raise ValueError(
                f"{path!r} split {split!r}: '{modality}_lengths' has negative values."
            )
        steps = features[modality].shape[1]
        lengths[modality] = np.minimum(value, steps).astype(np.int32)
    ids = splits_io.field(entry, "id", path, split, required=False)
    return Split(
        features=features,
        labels=labels,
        ids=splits_io.ids_as_strings(ids, num, path, split),
        lengths=lengths or None,
    )
