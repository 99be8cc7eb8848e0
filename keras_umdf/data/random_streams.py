"""Where the masks' random draws come from: one user seed, its independent
streams, a stream per modality, and the rates the draws are compared with.

A frame is kept when its uniform draw u in [0, 1) satisfies u >= p, so p = 0
keeps every frame and p = 1 drops every frame.
"""

from __future__ import annotations

import numbers
import zlib

from keras_umdf.modalities import MODALITIES

# Independent random streams derived from one user seed.
TRAIN_STREAM = 1
EVAL_STREAM = 2
SHUFFLE_STREAM = 3


def check_rate(name: str, value, hint: str = "") -> float:
    """Returns `value` as a float in [0, 1], or raises a ValueError naming it."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 <= float(value) <= 1.0
    ):
        raise ValueError(
            f"{name} must be a number in [0, 1]; received {name}={value!r}.{hint}"
        )
    return float(value)


def check_seed(seed) -> int:
    """Returns `seed` as a non-negative int, or raises a ValueError naming it."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            f"seed must be a non-negative integer; received seed={seed!r}."
        )
    return int(seed)


def modality_key(modality: str) -> int:
    """A stable integer per modality name, used to derive its random stream."""
    if modality in MODALITIES:
        return MODALITIES.index(modality)
    return 16 + zlib.crc32(modality.encode("utf-8")) % (2**31 - 16)
