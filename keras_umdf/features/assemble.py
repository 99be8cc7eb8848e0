"""One clip's features in UMDF's input layout: every modality on one time axis.

`clip_arrays` runs the extractors on a clip and aligns their frames
(`keras_umdf.features.align`):

- the clip has word timings: one row per word, every modality averaged over
  the word's interval (the text extractor gives one frame per word already);
- it has none: `length` equal stretches of the clip for audio and vision, the
  first `length` words for text.

Either way each modality becomes `(length, width)`, padded with zero rows at
the end, and a modality found nowhere in the clip is all zeros: keras_umdf
reads zero rows as missing frames, so a clip without a face or a transcript
trains and predicts as a clip with that modality missing.
"""

from __future__ import annotations

import numpy as np

from keras_umdf.features.align import average_over
from keras_umdf.features.align import equal_intervals
from keras_umdf.features.align import fit_length
from keras_umdf.features.align import word_intervals
from keras_umdf.features.base import Clip
from keras_umdf.features.base import Extractor
from keras_umdf.features.base import Frames


def clip_arrays(
    clip: Clip, extractors: dict[str, Extractor], length: int
) -> tuple[dict[str, np.ndarray], dict[str, bool]]:
    """Extracts and aligns one clip's modalities.

    Args:
        clip: the clip.
        extractors: modality -> its extractor.
        length: rows per modality, T.

    Returns:
        modality -> float32 `(length, width)`, and modality -> whether it was
        found anywhere in the clip.
    """
    frames = {m: extractor.extract(clip) for m, extractor in extractors.items()}
    duration = None
    if clip.media is not None and not clip.words:
        duration = clip_duration(clip.media)
    arrays = align_frames(clip, frames, length, duration)
    return arrays, {m: f.found for m, f in frames.items()}


def clip_duration(path: str) -> float | None:
    """The media file's length in seconds, or None where PyAV cannot read it
    (then the frames' own extent stands in for it)."""
    from keras_umdf.features.media import media_duration

    try:
        return media_duration(path)
    except ValueError:
        return None


def align_frames(
    clip: Clip, frames: dict[str, Frames], length: int, duration: float | None = None
) -> dict:
    """`clip_arrays`'s alignment of already extracted frames (modality ->
    `Frames`), modality -> float32 `(length, width)`.

    Without word timings the clip is cut into `length` equal stretches of
    `duration` seconds (the media file's length), so that every modality's rows
    cover the same times whichever other modalities were extracted; None: the
    latest end of any audio or video frame."""
    if clip.words:
        starts, ends = word_intervals(clip.words)
    else:
        if duration is None:
            timed = [
                f.ends.max() for m, f in frames.items() if m != "text" and len(f.ends)
            ]
            duration = max(timed, default=0.0)
        starts, ends = equal_intervals(duration, length)
    arrays = {}
    for modality, sequence in frames.items():
        if modality == "text":
            # One frame per word already, in the words' order.
            values, present = sequence.values, sequence.present
        else:
            values, present = average_over(sequence, starts, ends)
        values, present = fit_length(values, present, length)
        arrays[modality] = np.where(present[:, None], values, 0.0).astype(np.float32)
    return arrays
