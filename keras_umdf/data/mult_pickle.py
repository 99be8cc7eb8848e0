"""Reader of the MulT dataset pickles (`mosi_data.pkl`, `iemocap_data_noalign.pkl`...)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from keras_umdf.data import _pickled_splits as splits_io
from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.data.multimodal_dataset import SPLITS
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.modalities import MODALITIES

MULT_DATASETS = ("mosi", "mosei", "iemocap")
"""The datasets MulT ships: `mosi_data`, `mosei_senti_data`, `iemocap_data` (.pkl)."""


def infer_mult_dataset(path: str | os.PathLike) -> str | None:
    """The dataset a MulT file name names ("mosi", "mosei", "iemocap"), or None."""
    base = os.path.basename(os.fspath(path)).lower()
    for dataset in ("iemocap", "mosei", "mosi"):
        if dataset in base:
            return dataset
    return None


def load_mult_pickle(
    source: str | os.PathLike | Mapping,
    *,
    dataset: str | None = None,
    splits: Sequence[str] | None = None,
    neg_inf_to_zero: bool = True,
    name: str | None = None,
) -> MultimodalDataset:
    """Reads a MulT pickle (Tsai et al., 2019) into a `MultimodalDataset`.

    The files `{mosi,mosei_senti,iemocap}_data.pkl` (word-aligned: every modality
    has the same T) and `..._data_noalign.pkl` (unaligned: T differs per
    modality, e.g. MOSI text 50, audio 375, vision 500) are a dict split
    ("train", "valid", "test") -> {"text", "audio", "vision", "labels", "id"}.
    The pickle is read with `safe_pickle_load` (NumPy arrays and plain containers
    only; Python 2 pickles load).

    - MOSI / MOSEI: labels (N, 1, 1) sentiment scores in [-3, 3] -> a regression
      dataset with float32 (N,) labels.
    - IEMOCAP: labels (N, 4, 2), emotions [Neutral, Happy, Sad, Angry] by
      (absent, present) -> a multi-label classification dataset with int (N, 4)
      presence flags (the argmax of the last axis, as MulT computes them) and
      `label_names=IEMOCAP_EMOTIONS`.
    - ids: MulT stores (video id, start, end) per clip as bytes; the fields are
      decoded and joined with "$_$" (e.g. "-3g5yACwYnA$_$82.753$_$100.555"). A
      split without "id" gets "<split>$_$<index>".
    - -inf values (in MulT's audio) become 0 when `neg_inf_to_zero` is True, as
      MulT's own loader does; any other NaN or inf is an error.

    Args:
        source: path of the pickle, or the dict already loaded from one.
        dataset: "mosi", "mosei" or "iemocap"; None infers it from the file
            name (`mosei_senti_data.pkl` -> "mosei") or else from the label
            shape ((N, 4, 2) is IEMOCAP's, anything else is sentiment).
        splits: the splits to read; None reads whichever of "train", "valid",
            "test" the file has.
        neg_inf_to_zero: map -inf features to 0 (MulT's behaviour).
        name: the dataset's name in reports; None uses `dataset`, with
            "-unaligned" appended for unaligned data.

    Returns:
        A validated `MultimodalDataset` with features "text", "audio", "vision".

    Raises:
        FileNotFoundError: `source` does not exist.
        KeyError: a requested split, or a split's "text"/"audio"/"vision"/
            "labels" array, is missing (the message lists what the file has).
        ValueError: inconsistent shapes (named with file, split and key), labels
            that do not fit the dataset, or non-finite features.
        keras_umdf.data.safe_pickle.UnsafePickleError: the pickle would run code.
        pickle.UnpicklingError: the file is not a pickle.

    Example:

    ```python
    data = keras_umdf.data.load_mult_pickle("data/mosi_data_noalign.pkl")
    data.sequence_lengths  # {"text": 50, "audio": 375, "vision": 500}
    iemocap = keras_umdf.data.load_mult_pickle("data/iemocap_data.pkl")
    iemocap["train"].labels.shape  # (2717, 4)
    ```
    """
    if isinstance(source, Mapping):
        path = splits_io.source_path(source, "<MulT dict>")
        raw = splits_io.check_splits(source, path, "MulT")
    else:
        raw, path = splits_io.load_splits(source, "MulT")
    if dataset is None and not isinstance(source, Mapping):
        dataset = infer_mult_dataset(path)
    if dataset is not None and dataset not in MULT_DATASETS:
        raise ValueError(
            f"dataset must be one of {MULT_DATASETS} or None; received "
            f"dataset={dataset!r}."
        )
    chosen = splits_io.select_splits(raw, path, splits, SPLITS)
    if dataset is None:
        first = splits_io.field(raw[chosen[0]], "labels", path, chosen[0])
        dataset = "iemocap" if first.shape[1:] == (4, 2) else "mosi"
        default_name = "iemocap" if dataset == "iemocap" else "mult"
    else:
        default_name = dataset
    result = {s: _read_split(raw[s], path, s, dataset) for s in chosen}
    lengths = result[chosen[0]].features
    if len({v.shape[1] for v in lengths.values()}) > 1:
        default_name += "-unaligned"
    try:
        if dataset == "iemocap":
            return MultimodalDataset(
                result,
                task="classification",
                num_classes=len(IEMOCAP_EMOTIONS),
                multi_label=True,
                label_names=IEMOCAP_EMOTIONS,
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


def _read_split(entry: Mapping, path: str, split: str, dataset: str) -> Split:
    labels = splits_io.field(entry, "labels", path, split)
    if labels.ndim == 0:
        raise ValueError(f"{path!r} split {split!r}: 'labels' is a scalar.")
    num = labels.shape[0]
    splits_io.check_not_empty(num, path, split)
    if dataset == "iemocap":
        if labels.shape[1:] != (len(IEMOCAP_EMOTIONS), 2):
            raise ValueError(
                f"{path!r} split {split!r}: IEMOCAP labels must be (N, 4, 2) "
                f"(emotions {IEMOCAP_EMOTIONS} x (absent, present)); received "
                f"shape {labels.shape}. For sentiment files pass dataset='mosi' "
                "or 'mosei'."
            )
        labels = np.argmax(labels, axis=-1).astype(np.int32)
    else:
        if labels.size != num:
            hint = (
                " These look like IEMOCAP labels; pass dataset='iemocap'."
                if labels.shape[1:] == (4, 2)
                else ""
            )
            raise ValueError(
                f"{path!r} split {split!r}: {dataset} labels must hold one "
                f"sentiment score per clip, (N, 1, 1); received shape "
                f"{labels.shape}.{hint}"
            )
        labels = labels.reshape(num).astype(np.float32)
    features = {m: splits_io.features(entry, m, path, split, num) for m in MODALITIES}
    ids = splits_io.field(entry, "id", path, split, required=False)
    return Split(
        features=features,
        labels=labels,
        ids=splits_io.ids_as_strings(ids, num, path, split),
    )
