"""Clips made on the spot, for the example and the tests: no download.

`write_demo_clips` writes a small folder of video and audio clips and their
manifest, in which the sentiment label shows in every modality at once, so that
a model trained on their extracted features has something to learn:

- audio: a voice-like harmonic tone (`harmonic_tone`) whose pitch rises with
  the label;
- text: a transcript of positive or negative words by the label's sign;
- vision: scikit-image's sample portrait (`skimage.data.astronaut`, bundled in
  the scikit-image wheel), brighter for a higher label.

Some clips miss a modality the way raw data does: a clip with no face in view
(grey frames), one with a silent track, one without a transcript, and one
audio-only file. These are demonstration data, not evidence about a model.
"""

from __future__ import annotations

import json
import os

import numpy as np

# (centre Hz, bandwidth Hz) of the formant-like resonances, roughly an /a/.
FORMANTS = ((700.0, 130.0), (1220.0, 70.0), (2600.0, 160.0))

POSITIVE = ("good", "great", "loved", "wonderful", "happy", "fine", "best")
NEGATIVE = ("bad", "awful", "hated", "boring", "sad", "worst", "poor")


def harmonic_tone(seconds: float, f0: float, rate: int = 16000) -> np.ndarray:
    """A voice-like tone: a harmonic series at `f0` weighted by three
    formant-like resonances.

    Args:
        seconds: the length in seconds.
        f0: the fundamental frequency in Hz.
        rate: the sample rate in Hz.

    Returns:
        float32 `(round(seconds * rate),)` with a peak of 0.5.
    """
    t = np.arange(int(round(seconds * rate))) / rate
    signal = np.zeros_like(t)
    harmonic = 1
    while harmonic * f0 < rate / 2:
        frequency = harmonic * f0
        # The magnitude of a resonance (a two-pole filter's response) at each
        # formant, plus a 1/k source slope.
        gain = sum(
            1.0 / np.sqrt(1.0 + ((frequency - centre) / (bandwidth / 2)) ** 2)
            for centre, bandwidth in FORMANTS
        )
        signal += gain / harmonic * np.sin(2 * np.pi * frequency * t + 0.3 * harmonic)
        harmonic += 1
    signal *= 0.5 / np.abs(signal).max()
    return signal.astype(np.float32)


def portrait(size: int = 160) -> np.ndarray:
    """scikit-image's sample portrait, cropped to the face and resized to
    `size` x `size` (uint8 RGB)."""
    try:
        from skimage import data
        from skimage.transform import resize
    except ImportError:
        raise ImportError(
            "The demo clips use scikit-image's sample portrait: pip install "
            "scikit-image."
        ) from None
    face = data.astronaut()[0:300, 110:410]
    return (resize(face, (size, size), anti_aliasing=True) * 255).astype(np.uint8)


def write_demo_clips(
    folder: str, count: int = 24, seconds: float = 1.6, seed: int = 0
) -> str:
    """Writes `count` clips and a manifest (`manifest.json`) into `folder`.

    Args:
        folder: a new or empty folder.
        count: clips (at least 8): half for training, a quarter each for
            validation and test.
        seconds: each clip's length.
        seed: the labels' and words' seed.

    Returns:
        The manifest's path.

    Raises:
        ValueError: `folder` holds files already, or `count` is below 8.
    """
    from keras_umdf.features.media import write_video
    from keras_umdf.features.media import write_wav

    if count < 8:
        raise ValueError(f"count must be at least 8; received {count}.")
    if os.path.isdir(folder) and os.listdir(folder):
        raise ValueError(f"{folder!r} holds files already; give a new folder.")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = np.round(np.linspace(-2.5, 2.5, count), 2)
    rng.shuffle(labels)
    face = portrait()
    fps, rate = 10, 16000
    frames = int(round(seconds * fps))
    rows = []
    for index, label in enumerate(labels):
        clip_id = f"clip{index:03d}"
        split = "train" if index < count // 2 else "valid"
        if index >= count * 3 // 4:
            split = "test"
        words = list(rng.choice(POSITIVE if label >= 0 else NEGATIVE, size=4))
        row = {"id": clip_id, "label": float(label), "split": split}
        # 0.6 + 0.15 x label brightens the face with the label.
        shown = np.clip(face * (0.75 + 0.1 * label), 0, 255).astype(np.uint8)
        video = [shown] * frames
        tone = harmonic_tone(seconds, 160.0 + 25.0 * label, rate)
        kind = index % 8
        if kind == 5:  # no face in view
            video = [np.full_like(face, 128)] * frames
        if kind == 6:  # a silent track
            tone = np.zeros_like(tone)
        if kind != 7:  # every eighth clip has no transcript
            if index % 2:  # word timings: evenly over the clip
                step = seconds / len(words)
                row["words"] = [
                    [w, round(i * step, 3), round((i + 1) * step, 3)]
                    for i, w in enumerate(words)
                ]
            else:
                row["transcript"] = " ".join(words)
        if kind == 4:  # an audio-only file
            name = f"{clip_id}.wav"
            write_wav(os.path.join(folder, name), tone, rate)
        else:
            name = f"{clip_id}.mp4"
            write_video(os.path.join(folder, name), video, fps, tone, rate)
        row["media"] = name
        rows.append(row)
    path = os.path.join(folder, "manifest.json")
    with open(path, "w", encoding="utf-8") as file:
        json.dump(rows, file, indent=1)
    return path
