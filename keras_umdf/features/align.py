"""Bringing every modality's frames onto one time axis, as the field does.

- With word timings, each modality is averaged over each word's interval: the
  CMU-MultimodalSDK's word-aligned layout, in which CMU-MOSI and CMU-MOSEI
  are usually shared (one row per word, every modality).
- Without them, each modality is averaged over `length` equal stretches of the
  clip.

Only the frames where the modality was found count in an average; a stretch
without any is zero and marked missing, which is how keras_umdf's data marks
a missing frame.
"""

from __future__ import annotations

import numpy as np

from keras_umdf.features.base import Frames
from keras_umdf.features.base import Word


def average_over(frames: Frames, starts, ends) -> tuple[np.ndarray, np.ndarray]:
    """The frames' mean over each interval `[starts[i], ends[i])`.

    A frame counts in an interval in proportion to the time they share, so
    that a frame half inside a word counts half. Intervals no present frame
    overlaps are zero.

    Args:
        frames: one modality's frames.
        starts: `(W,)` interval starts in seconds.
        ends: `(W,)` interval ends in seconds.

    Returns:
        float32 `(W, width)` means and bool `(W,)`, whether any present frame
        overlapped the interval.
    """
    starts = np.asarray(starts, np.float64)
    ends = np.asarray(ends, np.float64)
    width = frames.values.shape[1]
    if frames.values.shape[0] == 0 or starts.shape[0] == 0:
        return np.zeros((starts.shape[0], width), np.float32), np.zeros(
            starts.shape[0], bool
        )
    # (W, N) seconds each frame shares with each interval.
    overlap = np.minimum(ends[:, None], frames.ends[None, :]) - np.maximum(
        starts[:, None], frames.starts[None, :]
    )
    weights = np.clip(overlap, 0.0, None) * frames.present[None, :]
    # A zero-length interval (a word whose start and end coincide) takes the
    # frame it falls in, [start, end), to within a nanosecond of rounding.
    point = ends <= starts
    if point.any():
        at = starts[point, None]
        inside = (frames.starts[None, :] <= at + 1e-9) & (
            at < frames.ends[None, :] - 1e-9
        )
        weights[point] = inside * frames.present[None, :]
    total = weights.sum(axis=1)
    found = total > 0
    means = np.zeros((starts.shape[0], width), np.float64)
    means[found] = (weights[found] @ frames.values.astype(np.float64)) / total[
        found, None
    ]
    return means.astype(np.float32), found


def word_intervals(words: tuple[Word, ...] | list[Word]) -> tuple[np.ndarray, ...]:
    """The words' `(starts, ends)` in seconds.

    Raises:
        ValueError: a word without a start or an end, or one that ends before
            it starts, naming the word.
    """
    starts, ends = [], []
    for index, word in enumerate(words):
        if word.start is None or word.end is None:
            raise ValueError(
                f"Word {index} ({word.text!r}) has no timing (start={word.start}, "
                f"end={word.end}); give every word a start and an end, or no "
                "timings at all (the clip is then resampled to equal frames)."
            )
        if word.end < word.start or word.start < 0:
            raise ValueError(
                f"Word {index} ({word.text!r}) runs from {word.start} s to "
                f"{word.end} s; a word's start must be >= 0 and not after its end."
            )
        starts.append(word.start)
        ends.append(word.end)
    return np.asarray(starts, np.float64), np.asarray(ends, np.float64)


def equal_intervals(duration: float, length: int) -> tuple[np.ndarray, np.ndarray]:
    """`length` equal intervals covering `[0, duration)`."""
    edges = np.linspace(0.0, max(float(duration), 0.0), length + 1)
    return edges[:-1], edges[1:]


def fit_length(values: np.ndarray, present: np.ndarray, length: int):
    """The first `length` rows, zero-padded at the end where there are fewer.

    Returns:
        `(length, width)` values and `(length,)` presence.
    """
    count = min(values.shape[0], length)
    fitted = np.zeros((length, values.shape[1]), np.float32)
    fitted[:count] = values[:count]
    found = np.zeros(length, bool)
    found[:count] = present[:count]
    return fitted, found
