"""A view: features whose absent frames are exactly zero, with presence masks.

Every view carries, for each modality m, the features `V[m]` and the float32
mask `V[m + "_mask"]` (1.0 = frame present). The NumPy and TensorFlow versions
give the same view, keys in the same (sorted) order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def mask_key(modality: str) -> str:
    """The key of a modality's presence mask in a view, e.g. "text_mask"."""
    return f"{modality}_mask"


def apply_frames(
    features: Mapping[str, np.ndarray], frames: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Zeroes absent frames (NumPy) and adds the float32 "<modality>_mask" arrays.

    Args:
        features: modality -> float (B, T_m, d_m).
        frames: modality -> bool (B, T_m), True where the frame is present.

    Returns:
        A view: modality -> float32 features, "<modality>_mask" -> float32 (B, T_m).
    """
    view = {}
    for modality, keep in frames.items():
        mask = np.asarray(keep, dtype=np.float32)
        view[modality] = np.asarray(features[modality], np.float32) * mask[..., None]
        view[mask_key(modality)] = mask
    return _sorted(view)


def apply_frames_tf(features, frames) -> dict:
    """`apply_frames` as TensorFlow ops."""
    import tensorflow as tf

    view = {}
    for modality, keep in frames.items():
        mask = tf.cast(keep, tf.float32)
        view[modality] = tf.cast(features[modality], tf.float32) * mask[..., None]
        view[mask_key(modality)] = mask
    return _sorted(view)


def _sorted(view: dict) -> dict:
    """The view with its keys sorted, the same order on both implementations.

    Keras' torch backend (3.15) flattens nested dicts in insertion order rather
    than sorted, so a fixed, sorted order keeps the batches of every path
    flattening alike.
    """
    return {key: view[key] for key in sorted(view)}
