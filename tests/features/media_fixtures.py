"""Media files made on the spot for the feature tests (no downloads).

- `harmonic_tone` (`keras_umdf.features.demo_clips.harmonic_tone`): a
  voice-like waveform, a harmonic series at `f0` whose harmonics are weighted
  by three formant-like resonances.
- `write_wav` (`keras_umdf.features.media.write_wav`), `write_tone_wav`:
  16-bit PCM wav files (Python's `wave` module, so decoding them with PyAV is
  an independent check).
- `write_video` (`keras_umdf.features.media.write_video`): an mp4 or mkv with
  a video stream and, optionally, an audio stream, encoded with PyAV.
"""

from __future__ import annotations

import os

import numpy as np

from keras_umdf.features.demo_clips import harmonic_tone  # noqa: F401
from keras_umdf.features.media import write_video  # noqa: F401
from keras_umdf.features.media import write_wav


def write_tone_wav(
    path: str | os.PathLike, seconds: float = 1.5, f0: float = 220.0, rate: int = 16000
) -> np.ndarray:
    """Writes `harmonic_tone(seconds, f0, rate)` as a wav file.

    Returns:
        float32, the samples as stored (see `write_wav`).
    """
    return write_wav(path, harmonic_tone(seconds, f0, rate), rate)
