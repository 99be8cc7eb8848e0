"""The batch contract of every pipeline, and the checks of what they are given.

Shared by `make_dataset`, `make_dataset_from_shards` and `MaskedPyDataset`, and
consumed by `keras_umdf.UMDF`:

- A view V is a dict with, for each modality m present in the data ("text",
  "audio", "vision", and "pseudo_text" when the data has one), the features
  `V[m]`, float32 (B, T_m, d_m), where absent modalities and dropped frames are
  exactly zero, and the presence mask `V[m + "_mask"]`, float32 (B, T_m), 1.0
  where the frame is present.
- Training elements are `(x, y)` with `x = {"view_a": V, "view_b": V}`, two views
  with different modality sets (see `keras_umdf.data.masking`).
- Evaluation elements are `(x, y)` with `x = V`, one view under a fixed test
  condition and frame-drop rate.
- `y`: regression float32 (B, 1); single-label classification int32 (B,);
  multi-label classification int32 (B, K).
"""

from __future__ import annotations

import numpy as np

from keras_umdf.argument_validation import check_int
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.data.random_streams import check_rate
from keras_umdf.data.random_streams import check_seed
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import condition_modalities

LABEL_KINDS = ("regression", "classification", "multi_label")


def label_kind(labels: np.ndarray) -> str:
    """How a split's labels are batched: "regression", "classification" or
    "multi_label".

    Floating labels (N,) are regression scores; integer labels (N,) are class
    indices; integer labels (N, K) are multi-label presence flags. This is the
    form `MultimodalDataset` gives its splits.
    """
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.floating):
        if labels.ndim == 2 and labels.shape[1] == 1:
            return "regression"
        if labels.ndim == 1:
            return "regression"
    elif np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool:
        if labels.ndim == 1:
            return "classification"
        if labels.ndim == 2:
            return "multi_label"
    raise ValueError(
        "Labels must be float (N,) regression scores, int (N,) class indices or "
        f"int (N, K) multi-label flags; received dtype {labels.dtype} and shape "
        f"{labels.shape}. Build the split through MultimodalDataset to convert them."
    )


def batch_labels_np(labels: np.ndarray, kind: str) -> np.ndarray:
    """Labels in the batch contract: float32 (B, 1) or int32 (B,) / (B, K)."""
    if kind == "regression":
        return np.asarray(labels, np.float32).reshape(-1, 1)
    return np.asarray(labels).astype(np.int32)


def batch_labels_tf(labels, kind: str):
    """`batch_labels_np` as TensorFlow ops."""
    import tensorflow as tf

    if kind == "regression":
        return tf.reshape(tf.cast(labels, tf.float32), [-1, 1])
    return tf.cast(labels, tf.int32)


def ordered_modalities(names) -> tuple[str, ...]:
    """Modality names in the order text, audio, vision, then others sorted."""
    names = list(names)
    return tuple(
        [m for m in MODALITIES if m in names] + sorted(set(names) - set(MODALITIES))
    )


def prepare_split(split) -> tuple[dict, np.ndarray, dict, str]:
    """Checks a `Split` and returns (features, labels, lengths, label kind).

    Features are float32 arrays in modality order; lengths is a (possibly empty)
    dict of int32 arrays.
    """
    if isinstance(split, MultimodalDataset):
        raise TypeError(
            "make_dataset takes one split, not a whole MultimodalDataset; pass "
            f"e.g. data['train'] (this dataset has splits {sorted(split.splits)})."
        )
    if not isinstance(split, Split):
        raise TypeError(
            "Expected a keras_umdf.data.Split (e.g. data['train'] of a "
            f"MultimodalDataset); received {type(split).__name__}."
        )
    if not split.features:
        raise ValueError("The split has no modality arrays; received features={}.")
    labels = np.asarray(split.labels)
    num = labels.shape[0] if labels.ndim else 0
    if num == 0:
        raise ValueError("The split is empty (0 labels); it needs at least one sample.")
    features = {}
    for modality in ordered_modalities(split.features):
        array = split.features[modality]
        if np.ndim(array) != 3 or array.shape[0] != num:
            raise ValueError(
                f"{modality!r} features must be (N, T, d) with N = {num} labels; "
                f"received shape {np.shape(array)}."
            )
        if not isinstance(array, np.memmap):
            array = np.asarray(array, dtype=np.float32)
        elif array.dtype != np.float32:
            raise ValueError(
                f"Memory-mapped {modality!r} features must be float32; received "
                f"{array.dtype}."
            )
        features[modality] = array
    lengths = {}
    for modality, values in (split.lengths or {}).items():
        values = np.asarray(values).astype(np.int32)
        if modality not in features or values.shape != (num,):
            raise ValueError(
                f"lengths[{modality!r}] must be ({num},) for a modality in "
                f"{sorted(features)}; received shape {values.shape}."
            )
        lengths[modality] = values
    kind = label_kind(labels)
    if kind == "regression":
        labels = labels.reshape(num).astype(np.float32)
    else:
        labels = labels.astype(np.int32)
    return features, labels, lengths, kind


def check_pipeline_args(
    *, training, batch_size, seed, condition, drop_rate, p_max, shuffle
) -> tuple[int, int, float, float, bool]:
    """Validates the arguments shared by the pipelines; returns them normalised."""
    batch_size = check_int("batch_size", batch_size)
    seed = check_seed(seed)
    condition_modalities(condition)
    drop_rate = check_rate(
        "drop_rate", drop_rate, " It is the evaluation frame-drop rate (1.0 drops all)."
    )
    p_max = check_rate(
        "p_max", p_max, " It is the largest training frame-drop rate (default 0.5)."
    )
    if training and (sorted(condition.lower()) != sorted("lav") or drop_rate != 0.0):
        raise ValueError(
            "condition and drop_rate set the evaluation views; training views are "
            f"drawn at random (p_max sets their frame drop). Received "
            f"condition={condition!r}, drop_rate={drop_rate} with training=True; "
            "leave them at their defaults or pass training=False."
        )
    shuffle = bool(training) if shuffle is None else bool(shuffle)
    return batch_size, seed, drop_rate, p_max, shuffle
