"""Linear resampling along time, for streams of different lengths (unaligned data)."""

import numpy as np
from keras import ops


def interpolation_matrix(source: int, target: int) -> np.ndarray:
    """The (target, source) float32 matrix that linearly resamples `source` frames
    to `target` frames: row t mixes the two source frames around position
    t * (source - 1) / (target - 1)."""
    positions = np.linspace(0.0, source - 1.0, target)
    lower = np.floor(positions).astype(int)
    upper = np.minimum(lower + 1, source - 1)
    frac = positions - lower
    matrix = np.zeros((target, source), np.float32)
    matrix[np.arange(target), lower] += 1.0 - frac
    matrix[np.arange(target), upper] += frac
    return matrix


def resample(x, length: int | None):
    """Linearly resamples (batch, T, d) to (batch, length, d) along time; returns
    `x` itself when the lengths agree or either is unknown."""
    source = x.shape[1]
    if source is None or length is None or source == length:
        return x
    weights = interpolation_matrix(source, length)
    return ops.einsum("ts,bsd->btd", ops.cast(weights, x.dtype), x)


def resample_mask(mask, length: int | None):
    """A bool (batch, T) frame mask at `length` frames: a frame is set where its
    interpolation draws on a set source frame."""
    source = mask.shape[1]
    if source is None or length is None or source == length:
        return mask
    weights = interpolation_matrix(source, length)
    return ops.einsum("ts,bs->bt", weights, ops.cast(mask, "float32")) > 0
