"""Linear resampling along time, for streams of different lengths (unaligned data)."""

import numpy as np


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
