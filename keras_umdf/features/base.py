"""What every feature extractor takes and returns.

An extractor turns one clip (`Clip`: a media file, a transcript, optional
word timings) into one modality's frame sequence (`Frames`): a float32 row
per frame, the frame's time span in seconds, and whether the modality was
found in it (a frame without a face, a silent stretch). `keras_umdf.features`
then aligns the sequences of all modalities to a common time axis.

Each extractor names itself (`name`, `version`, `width`): a model trained on
its features records those, so that predicting with features from another
extractor can be refused instead of silently giving wrong predictions.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Word:
    """One word of a transcript and, where known, when it is spoken.

    Attributes:
        text: the word.
        start: its start in seconds from the clip's start, or None.
        end: its end in seconds, or None.
    """

    text: str
    start: float | None = None
    end: float | None = None


@dataclasses.dataclass(frozen=True)
class Clip:
    """One clip to extract features from.

    Attributes:
        id: the clip's name (unique within a manifest).
        media: path of the video or audio file (mp4, mkv, wav, ...), or None
            (a transcript alone).
        transcript: the spoken text, or None (no transcript: text missing).
        words: the transcript's words with their timings, or None. Where
            given, every modality is averaged over each word's interval (the
            CMU-MultimodalSDK's word-aligned layout).
    """

    id: str
    media: str | None = None
    transcript: str | None = None
    words: tuple[Word, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Frames:
    """One modality's frame sequence from one clip.

    Attributes:
        values: float32 `(N, width)`; zero in the frames where the modality
            was not found.
        starts: float64 `(N,)`, each frame's start in seconds.
        ends: float64 `(N,)`, each frame's end in seconds (after its start).
        present: bool `(N,)`, whether the modality was found in the frame.
    """

    values: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    present: np.ndarray

    def __post_init__(self):
        n = self.values.shape[0]
        if self.values.ndim != 2:
            raise ValueError(
                f"Frames.values must be (N, width); received shape {self.values.shape}."
            )
        for name in ("starts", "ends", "present"):
            shape = getattr(self, name).shape
            if shape != (n,):
                raise ValueError(
                    f"Frames.{name} must be ({n},) like the values' frames; "
                    f"received shape {shape}."
                )

    @classmethod
    def empty(cls, width: int) -> Frames:
        """No frames at all: the modality is missing from the whole clip."""
        return cls(
            np.zeros((0, width), np.float32),
            np.zeros((0,), np.float64),
            np.zeros((0,), np.float64),
            np.zeros((0,), bool),
        )

    @property
    def found(self) -> bool:
        """Whether the modality was found in any frame."""
        return bool(self.present.any())


class Extractor:
    """The interface of a feature extractor (one modality).

    Subclasses set the class attributes and implement `extract`.

    Attributes:
        modality: "text", "audio" or "vision".
        name: the extractor's name, e.g. "acoustic_descriptors".
        version: the version of its output; changes whenever the same clip
            would give other values.
        width: the number of values per frame.
    """

    modality: str = ""
    name: str = ""
    version: str = ""
    width: int = 0

    def extract(self, clip: Clip) -> Frames:
        """The clip's frames of this modality (`Frames.empty` where the clip
        has none: no media, no audio track, no transcript)."""
        raise NotImplementedError

    def spec(self) -> dict:
        """What a model trained on these features records: modality, name,
        version and width."""
        return {
            "modality": self.modality,
            "name": self.name,
            "version": self.version,
            "width": int(self.width),
        }
