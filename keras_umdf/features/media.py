"""Decoding a clip's media file into a waveform and video frames, with PyAV.

PyAV (`import av`) bundles its own FFmpeg, so no system `ffmpeg` is needed.
It is imported when a function here is first called: `pip install
"keras-umdf[features]"` installs it.

- `read_audio`: the first audio stream as a float32 mono waveform.
- `read_video_frames`: the first video stream's frames as RGB arrays with
  their time spans.
- `media_duration`: the length of the file's longest stream in seconds.
- `write_video`, `write_wav`: the other way, for clips made on the spot
  (`keras_umdf.features.demo_clips` and the tests).
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from keras_umdf.argument_validation import check_positive_number

EXPECTED_FORMATS = (
    "a video or audio file FFmpeg can decode (mp4, mkv, webm, wav, m4a, mp3, ...)"
)


def _import_av():
    try:
        import av
    except ImportError as error:
        raise ImportError(
            "Decoding media needs PyAV (`import av`), which is not installed; "
            'install it with `pip install "keras-umdf[features]"`.'
        ) from error
    return av


def _check_path(path):
    """`path` as a string, with a clear error for a missing file or a folder."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Media file not found: {path!r}; expected {EXPECTED_FORMATS}. Check "
            "the path (a relative path is read from the working directory "
            f"{os.getcwd()!r})."
        )
    if os.path.isdir(path):
        raise ValueError(
            f"Media path {path!r} is a folder; expected {EXPECTED_FORMATS}."
        )
    return path


def _open(path):
    """Opens `path` with PyAV, with a clear error for a missing or bad file."""
    av = _import_av()
    path = _check_path(path)
    try:
        return av.open(path, mode="r")
    except av.FFmpegError as error:
        raise ValueError(
            f"Cannot open media file {path!r} ({error}); expected {EXPECTED_FORMATS}."
        ) from error


def _decode_error(path, error):
    return ValueError(
        f"Cannot decode media file {path!r} ({error}); the file may be truncated "
        f"or damaged. Expected {EXPECTED_FORMATS}."
    )


def read_audio(path: str | os.PathLike, rate: int = 16000) -> np.ndarray:
    """The file's first audio stream as a mono waveform.

    The stream is resampled to `rate` with FFmpeg's resampler and its
    channels are averaged (so a loud stereo file cannot clip), and the same
    file always gives the same samples.
    The decoded samples are laid end to end from the first (timestamps are
    not followed), and cut to the stream's length where the container
    records it (dropping the padding of the encoder's last frame).

    Args:
        path: a video or audio file (wav, mp4, mkv, m4a, ...).
        rate: the sample rate of the result in Hz.

    Returns:
        float32 `(samples,)` in [-1, 1]; empty when the file has no audio
        stream.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: `rate` is not a positive integer, or PyAV cannot open or
            decode the file.
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(
            f"`rate` must be a positive integer sample rate in Hz, e.g. 16000; "
            f"received {rate!r}."
        )
    av = _import_av()
    container = _open(path)
    try:
        if not container.streams.audio:
            return np.zeros((0,), np.float32)
        stream = container.streams.audio[0]
        recorded = None
        if stream.duration is not None and stream.time_base is not None:
            recorded = int(round(stream.duration * stream.time_base * int(rate)))
        # Planar floats at `rate`, keeping the stream's channels: they are
        # averaged here, as FFmpeg's own downmix scales by 1/sqrt(2) and can
        # clip.
        resampler = av.AudioResampler(format="fltp", rate=int(rate))
        chunks = []
        try:
            for frame in container.decode(stream):
                # Drop the source timestamps: the samples are concatenated in
                # decoding order, so a gap in them cannot shift the waveform.
                frame.pts = None
                for out in resampler.resample(frame):
                    chunks.append(_mono(out))
            for out in resampler.resample(None):
                chunks.append(_mono(out))
        except av.FFmpegError as error:
            raise _decode_error(os.fspath(path), error) from error
    finally:
        container.close()
    if not chunks:
        return np.zeros((0,), np.float32)
    waveform = np.concatenate(chunks).astype(np.float32, copy=False)
    if recorded is not None and recorded > 0:
        # Drop the padding an encoder adds to fill its last frame (aac pads to
        # a multiple of 1024 samples) where the container records the length.
        waveform = waveform[:recorded]
    return np.clip(waveform, -1.0, 1.0)


def _mono(frame):
    """A planar float audio frame's channels averaged, float32 `(samples,)`."""
    planes = frame.to_ndarray()
    if planes.shape[0] == 1:
        return planes[0]
    return planes.astype(np.float64).mean(axis=0).astype(np.float32)


def read_video_frames(
    path: str | os.PathLike, fps: float | None = None
) -> Iterator[tuple[float, float, np.ndarray]]:
    """The file's first video stream, one RGB frame at a time.

    A frame's start is its presentation time (`pts` times the stream's time
    base) in seconds; it ends where the next frame it is followed by starts
    (the last frame lasts its own duration, or one frame period). With `fps`,
    a frame is kept when it is the first to start in its `1 / fps` slot
    (`floor(start * fps)`), so the same file always keeps the same frames, and
    a kept frame ends where the next kept frame starts: the kept frames still
    cover the stream without gaps.

    Args:
        path: a video file (mp4, mkv, webm, ...).
        fps: keep at most this many frames per second, or None (every
            frame).

    Yields:
        `(start, end, rgb)`: seconds (floats) and uint8 `(height, width, 3)`.
        Nothing when the file has no video stream.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: `fps` is not a positive number, or PyAV cannot open or
            decode the file.
    """
    if fps is not None:
        check_positive_number(
            "fps",
            fps,
            wanted="a positive number of frames per second, or None (every frame)",
        )
    # The checks run when the generator is created; the file is opened on the
    # first `next`.
    return _video_frames(_check_path(path), fps)


def _video_frames(path, fps):
    av = _import_av()
    container = _open(path)
    try:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        time_base = stream.time_base or Fraction(1, 1)
        rate = stream.average_rate or stream.guessed_rate
        period = float(1 / rate) if rate else None
        pending = None  # (start, rgb) of the kept frame waiting for its end.
        last_slot = None
        previous_start = None
        last_duration = None
        try:
            for frame in container.decode(stream):
                if frame.pts is not None:
                    start = float(frame.pts * time_base)
                elif previous_start is not None:
                    start = previous_start + (period or 0.0)
                else:
                    start = 0.0
                previous_start = start
                if frame.duration:
                    last_duration = float(frame.duration * time_base)
                if fps is not None:
                    slot = int(np.floor(start * fps + 1e-9))
                    if last_slot is not None and slot <= last_slot:
                        continue
                    last_slot = slot
                rgb = frame.to_ndarray(format="rgb24")
                if pending is not None:
                    yield pending[0], max(start, pending[0]), pending[1]
                pending = (start, rgb)
        except av.FFmpegError as error:
            raise _decode_error(path, error) from error
        if pending is not None:
            last = last_duration or period or 0.0
            end = max(previous_start + last, pending[0] + 1e-6)
            yield pending[0], end, pending[1]
    finally:
        container.close()


def media_duration(path: str | os.PathLike) -> float:
    """The length of the file's longest stream in seconds.

    Uses the durations the container records; where none is recorded, the
    file is decoded to find where its last frame ends.

    Args:
        path: a video or audio file.

    Returns:
        seconds (0.0 for a file without streams).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: PyAV cannot open or decode the file.
    """
    av = _import_av()
    container = _open(path)
    try:
        longest = 0.0
        unknown = []
        for stream in container.streams:
            if stream.type not in ("audio", "video"):
                continue
            if stream.duration is not None and stream.time_base is not None:
                begin = stream.start_time or 0
                longest = max(
                    longest, float((begin + stream.duration) * stream.time_base)
                )
            else:
                unknown.append(stream)
        if unknown and container.duration is not None:
            longest = max(longest, container.duration / av.time_base)
            unknown = []
        for stream in unknown:
            try:
                for frame in container.decode(stream):
                    if frame.pts is None or frame.time_base is None:
                        continue
                    end = frame.pts * frame.time_base
                    if stream.type == "audio" and frame.sample_rate:
                        end += Fraction(frame.samples, frame.sample_rate)
                    elif frame.duration:
                        end += frame.duration * frame.time_base
                    longest = max(longest, float(end))
            except av.FFmpegError as error:
                raise _decode_error(os.fspath(path), error) from error
            container.seek(0)
        return longest
    finally:
        container.close()


def to_int16(waveform: np.ndarray) -> np.ndarray:
    """The waveform in [-1, 1] as 16-bit PCM samples."""
    return np.round(np.clip(waveform, -1.0, 1.0) * 32767).astype(np.int16)


def write_video(
    path: str | os.PathLike,
    frames_rgb,
    fps: int = 25,
    audio: np.ndarray | None = None,
    rate: int = 16000,
    *,
    video_codec: str = "mpeg4",
    audio_codec: str | None = None,
) -> None:
    """Encodes RGB frames (and a mono waveform) into a video file with PyAV.

    Args:
        path: the file; its extension picks the container (".mp4", ".mkv").
        frames_rgb: uint8 `(height, width, 3)` frames (even height and
            width: the encoder stores 4:2:0 chroma), or an array of them.
        fps: frames per second (an integer).
        audio: a float waveform in [-1, 1] for an audio stream, or None (no
            audio stream).
        rate: the waveform's sample rate in Hz.
        video_codec: "mpeg4" (always in PyAV's FFmpeg) or e.g. "libx264".
        audio_codec: None picks "aac" (lossy, with an encoder delay) for mp4
            and "flac" (lossless) for other containers.
    """
    av = _import_av()
    path = os.fspath(path)
    if audio_codec is None:
        audio_codec = "aac" if path.endswith((".mp4", ".m4a", ".mov")) else "flac"
    with av.open(path, mode="w") as container:
        video = None
        if len(frames_rgb):
            height, width = np.asarray(frames_rgb[0]).shape[:2]
            video = container.add_stream(video_codec, rate=Fraction(int(fps), 1))
            video.width, video.height = width, height
            video.pix_fmt = "yuv420p"
        sound = None
        if audio is not None:
            sound = container.add_stream(audio_codec, rate=int(rate))
            sound.layout = "mono"
        if video is not None:
            for rgb in frames_rgb:
                frame = av.VideoFrame.from_ndarray(
                    np.asarray(rgb, np.uint8), format="rgb24"
                )
                for packet in video.encode(frame):
                    container.mux(packet)
            for packet in video.encode(None):
                container.mux(packet)
        if sound is not None:
            _encode_audio(av, container, sound, np.asarray(audio), int(rate))


def _encode_audio(av, container, sound, audio, rate):
    # A resampler turns the int16 mono input into the encoder's own sample
    # format and frame size (aac wants float planar frames of 1024 samples).
    resampler = av.AudioResampler(
        format=sound.codec_context.format,
        layout="mono",
        rate=rate,
        frame_size=sound.codec_context.frame_size or None,
    )
    samples = to_int16(audio.astype(np.float64))
    block = 4096
    for begin in range(0, len(samples), block):
        frame = av.AudioFrame.from_ndarray(
            samples[None, begin : begin + block], format="s16", layout="mono"
        )
        frame.sample_rate = rate
        frame.pts = begin
        frame.time_base = Fraction(1, rate)
        for out in resampler.resample(frame):
            for packet in sound.encode(out):
                container.mux(packet)
    for out in resampler.resample(None):
        for packet in sound.encode(out):
            container.mux(packet)
    for packet in sound.encode(None):
        container.mux(packet)


def write_wav(
    path: str | os.PathLike, waveform: np.ndarray, rate: int = 16000
) -> np.ndarray:
    """Writes a 16-bit wav file.

    Args:
        path: the file.
        waveform: floats in [-1, 1], `(samples,)` (mono) or
            `(samples, channels)`.
        rate: the sample rate in Hz.

    Returns:
        float32, the samples as stored (quantised to 16 bits, scaled to
        [-1, 1] by 1 / 32767).
    """
    samples = to_int16(np.asarray(waveform, np.float64))
    with wave.open(os.fspath(path), "wb") as file:
        file.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
        file.setsampwidth(2)
        file.setframerate(int(rate))
        file.writeframes(samples.tobytes())
    return samples.astype(np.float32) / 32767
