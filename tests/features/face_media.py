"""Face images and videos made on the spot for the vision tests (no downloads).

The face is scikit-image's bundled astronaut portrait (`skimage.data`, a
file inside the scikit-image wheel: Eileen Collins, a NASA photograph in the
public domain).

- `face_image`: the portrait, downscaled to `size` pixels square.
- `blank_image`, `noise_image`: frames without a face.
- `rotated`: a frame turned counter-clockwise about its centre.
- `write_face_video`: a video whose frames show the face or not, in a given
  pattern.
"""

from __future__ import annotations

import os

import numpy as np

from tests.features.media_fixtures import write_video


def face_image(size: int = 256) -> np.ndarray:
    """The astronaut portrait (a smiling face, looking at the camera).

    Args:
        size: the side in pixels; 512 (the original) divided by a power of
            two keeps the pixels exact.

    Returns:
        uint8 `(size, size, 3)`.
    """
    import skimage.data
    import skimage.transform

    image = skimage.data.astronaut()
    if size == image.shape[0]:
        return image
    step = image.shape[0] // size
    if step * size == image.shape[0]:
        return np.ascontiguousarray(image[::step, ::step])
    resized = skimage.transform.resize(image, (size, size), anti_aliasing=True)
    return np.round(resized * 255).astype(np.uint8)


def blank_image(size: int = 256, level: int = 128) -> np.ndarray:
    """A uniform grey frame, uint8 `(size, size, 3)`."""
    return np.full((size, size, 3), level, np.uint8)


def noise_image(size: int = 256, seed: int = 0) -> np.ndarray:
    """A frame of uniform random pixels, uint8 `(size, size, 3)`."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """The frame turned counter-clockwise by `degrees`, edges repeated."""
    import skimage.transform

    turned = skimage.transform.rotate(image, degrees, mode="edge")
    return np.round(turned * 255).astype(np.uint8)


def write_face_video(
    path: str | os.PathLike, pattern, fps: int = 10, size: int = 256
) -> list[np.ndarray]:
    """Writes a video with one frame per entry of `pattern`.

    Args:
        path: the file (".mp4" or ".mkv").
        pattern: booleans, True for a frame showing the face, False for a
            blank grey frame.
        fps: frames per second.
        size: the frames' side in pixels.

    Returns:
        the frames written (before encoding).
    """
    face = face_image(size)
    blank = blank_image(size)
    frames = [face if shown else blank for shown in pattern]
    write_video(path, frames, fps=fps)
    return frames
