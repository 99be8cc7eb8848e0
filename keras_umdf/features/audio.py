"""Acoustic descriptors of a clip's audio, in NumPy.

The descriptors the multimodal sentiment field uses for audio (COVAREP's and
openSMILE's low-level descriptors, in a small set): a mel spectrum, MFCCs,
the frame's energy and zero-crossing rate, and the pitch with how voiced the
frame is. They are written here in NumPy (no librosa, no SciPy), so the audio
extractor needs only PyAV to decode the file.
"""

from __future__ import annotations

import numpy as np

from keras_umdf.features.base import Clip
from keras_umdf.features.base import Extractor
from keras_umdf.features.base import Frames

MEL_BANDS = 40
MFCCS = 13
PITCH_RANGE = (60.0, 400.0)
# A frame is voiced when its normalised autocorrelation peak reaches this.
VOICING_THRESHOLD = 0.5
PRE_EMPHASIS = 0.97
# The frames computed at once: bounds the memory of a long clip's FFTs.
BLOCK_FRAMES = 2048
# Where a logarithm of a power would be -inf.
POWER_FLOOR = 1e-10


def hz_to_mel(hz):
    """Hertz to mels (the HTK formula: 2595 log10(1 + hz / 700))."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_to_hz(mel):
    """Mels to hertz (the inverse of `hz_to_mel`)."""
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def mel_filterbank(bands: int, fft_size: int, rate: int) -> np.ndarray:
    """Triangular mel filters over the bins of a real FFT.

    The filters' edges are equally spaced in mels from 0 Hz to `rate / 2`;
    each filter rises from its lower edge to its centre and falls to its upper
    edge, and is scaled to unit area in hertz so that wide high bands do not
    outweigh narrow low ones.

    Args:
        bands: the number of filters.
        fft_size: the FFT's length (`fft_size // 2 + 1` bins).
        rate: the sample rate in Hz.

    Returns:
        float64 `(fft_size // 2 + 1, bands)`.
    """
    bins = np.arange(fft_size // 2 + 1) * rate / fft_size
    edges = mel_to_hz(np.linspace(0.0, hz_to_mel(rate / 2), bands + 2))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower) / (centre - lower)
    falling = (upper - bins[:, None]) / (upper - centre)
    weights = np.clip(np.minimum(rising, falling), 0.0, None)
    return weights * (2.0 / (upper - lower))


def dct_matrix(size: int, count: int) -> np.ndarray:
    """The orthonormal DCT-II's first `count` basis vectors.

    Returns:
        float64 `(size, count)`: `x @ dct_matrix(size, count)` is the first
        `count` DCT-II coefficients of each row of `x`.
    """
    n = np.arange(size)[:, None]
    k = np.arange(count)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * size)) * np.sqrt(2.0 / size)
    basis[:, 0] /= np.sqrt(2.0)
    return basis


def frame_signal(signal: np.ndarray, length: int, hop: int, count: int) -> np.ndarray:
    """`count` frames of `length` samples every `hop` samples (a copy)."""
    index = np.arange(count)[:, None] * hop + np.arange(length)[None, :]
    return signal[index]


class AcousticDescriptors(Extractor):
    """Frame-level acoustic descriptors: mel spectrum, MFCCs, energy, pitch.

    The audio is decoded to mono at `rate` Hz (`read_audio`) and cut into
    frames of `frame_seconds` every `hop_seconds` (25 ms every 10 ms by
    default), each frame lying wholly inside the waveform: frame `i` spans
    `[i * hop, i * hop + frame)` seconds, and a clip shorter than one frame
    has none. Each frame's row holds, in this order (57 columns):

    - `[0:40]` log-mel energies: the natural log of the power spectrum
      (512-point FFT of the pre-emphasised (0.97), Hamming-windowed frame)
      through 40 triangular mel filters from 0 Hz to `rate / 2`.
    - `[40:53]` MFCCs: the first 13 coefficients (c0 included) of the
      orthonormal DCT-II of the 40 log-mel energies.
    - `[53]` log energy: the frame's mean square in decibels relative to full
      scale, `10 log10(mean(x ** 2))` (0 dB for a full-scale square wave).
    - `[54]` zero-crossing rate: the fraction of neighbouring sample pairs
      whose signs differ.
    - `[55]` pitch: the fundamental frequency in Hz (60 to 400 Hz) at the
      peak of the frame's normalised autocorrelation, refined between lags
      by a parabola; 0 where the frame is unvoiced.
    - `[56]` voicing probability: that peak's height clipped to [0, 1] (1 for
      a perfectly periodic frame); the frame is voiced where it reaches 0.5.

    The pitch correlates the frame with itself shifted by each lag of the
    pitch range, over a window of one frame plus the longest period (the
    normalised cross-correlation of RAPT), and takes the shortest lag whose
    peak is within 10 % of the highest, which avoids reporting half the pitch.

    Frames whose log energy is below `silence_db` are absent
    (`present=False`, their values zero). A clip without media or without an
    audio stream gives `Frames.empty(57)`; a silent audio stream gives its
    frames, every one absent, so the clip's length is still known.

    Everything is computed in float64 with NumPy and stored as float32, so
    the same clip gives the same bytes.

    Args:
        rate: the sample rate the audio is decoded at, in Hz (8000 to 48000).
        frame_seconds: each frame's length in seconds (10 to 100 ms).
        hop_seconds: the step between frames' starts in seconds (at most
            `frame_seconds`).
        silence_db: the log energy (dB relative to full scale) below which a
            frame is silent; -60 dB is an RMS of 0.001.

    Example:

    ```python
    extractor = AcousticDescriptors()
    frames = extractor.extract(Clip("clip1", media="clip1.mp4"))
    frames.values.shape  # (N, 57); frames.values[:, 55] is the pitch in Hz.
    ```
    """

    modality = "audio"
    name = "acoustic_descriptors"
    version = "1"
    width = MEL_BANDS + MFCCS + 4
    columns = (
        tuple(f"log_mel_{i}" for i in range(MEL_BANDS))
        + tuple(f"mfcc_{i}" for i in range(MFCCS))
        + ("log_energy_db", "zero_crossing_rate", "pitch_hz", "voicing")
    )

    def __init__(
        self,
        rate: int = 16000,
        frame_seconds: float = 0.025,
        hop_seconds: float = 0.010,
        silence_db: float = -60.0,
    ):
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)):
            raise ValueError(
                f"`rate` must be an integer in Hz, e.g. 16000; received {rate!r}."
            )
        if not 8000 <= rate <= 48000:
            raise ValueError(
                f"`rate` must be between 8000 and 48000 Hz (the pitch range and "
                f"the mel bands assume speech rates); received {rate}."
            )
        frame_seconds = _number("frame_seconds", frame_seconds)
        hop_seconds = _number("hop_seconds", hop_seconds)
        silence_db = _number("silence_db", silence_db)
        if not 0.01 <= frame_seconds <= 0.1:
            raise ValueError(
                "`frame_seconds` must be between 0.01 and 0.1 (10 to 100 ms; "
                f"speech descriptors use 0.025); received {frame_seconds}."
            )
        if not 0 < hop_seconds <= frame_seconds:
            raise ValueError(
                "`hop_seconds` must be positive and at most `frame_seconds` "
                f"({frame_seconds}), so that the frames cover the audio; "
                f"received {hop_seconds}."
            )
        if silence_db > 0:
            raise ValueError(
                "`silence_db` is a level in dB relative to full scale and must "
                f"be at most 0 (e.g. -60.0); received {silence_db}."
            )
        self.rate = int(rate)
        self.frame_seconds = frame_seconds
        self.hop_seconds = hop_seconds
        self.silence_db = silence_db
        self._frame = int(round(frame_seconds * self.rate))
        self._hop = max(1, int(round(hop_seconds * self.rate)))
        self._fft = 1 << int(np.ceil(np.log2(self._frame)))
        self._window = np.hamming(self._frame)
        self._mel = mel_filterbank(MEL_BANDS, self._fft, self.rate)
        self._dct = dct_matrix(MEL_BANDS, MFCCS)
        self._lags = (
            int(np.floor(self.rate / PITCH_RANGE[1])),
            int(np.ceil(self.rate / PITCH_RANGE[0])),
        )

    def extract(self, clip: Clip) -> Frames:
        """The clip's descriptors (`Frames.empty(57)` without audio).

        Args:
            clip: the clip; its `media` file is decoded with `read_audio`.

        Returns:
            the frames, see the class docstring.

        Raises:
            FileNotFoundError: the media file does not exist.
            ValueError: PyAV cannot open or decode it.
        """
        if clip.media is None:
            return Frames.empty(self.width)
        from keras_umdf.features.media import read_audio

        return self.describe(read_audio(clip.media, rate=self.rate), self.rate)

    def describe(self, waveform: np.ndarray, rate: int) -> Frames:
        """The descriptors of a waveform already in memory.

        Args:
            waveform: float `(samples,)`, mono, in [-1, 1].
            rate: its sample rate in Hz; must be this extractor's `rate`
                (decode with `read_audio(path, rate=...)` to resample).

        Returns:
            the frames, see the class docstring (`Frames.empty(57)` for a
            waveform shorter than one frame).

        Raises:
            ValueError: `rate` differs from the extractor's, or the waveform
                is not a 1-D float array of finite values in [-1, 1].
        """
        if rate != self.rate:
            raise ValueError(
                f"The waveform's rate is {rate!r} Hz but this extractor works "
                f"at {self.rate} Hz; resample it (e.g. `read_audio(path, "
                f"rate={self.rate})`) or build `AcousticDescriptors(rate={rate!r})`."
            )
        waveform = np.asarray(waveform)
        if waveform.ndim != 1:
            raise ValueError(
                f"The waveform must be mono, shape (samples,); received shape "
                f"{waveform.shape}. Average the channels first (e.g. "
                "`waveform.mean(axis=-1)` for (samples, channels))."
            )
        if not np.issubdtype(waveform.dtype, np.floating):
            raise ValueError(
                f"The waveform must be floats in [-1, 1]; received dtype "
                f"{waveform.dtype}. Scale integer PCM first (int16: divide by 32768)."
            )
        signal = waveform.astype(np.float64)
        if not np.isfinite(signal).all():
            raise ValueError("The waveform holds NaN or infinite samples.")
        peak = float(np.abs(signal).max()) if signal.size else 0.0
        if peak > 1.0 + 1e-6:
            raise ValueError(
                f"The waveform must lie in [-1, 1]; its peak is {peak:.4g}. "
                "Scale it to full scale 1 (integer PCM: divide by its maximum)."
            )
        count = 0
        if signal.size >= self._frame:
            count = 1 + (signal.size - self._frame) // self._hop
        if count == 0:
            return Frames.empty(self.width)
        emphasised = np.concatenate(
            [signal[:1], signal[1:] - PRE_EMPHASIS * signal[:-1]]
        )
        values = np.zeros((count, self.width), np.float32)
        for begin in range(0, count, BLOCK_FRAMES):
            end = min(count, begin + BLOCK_FRAMES)
            values[begin:end] = self._describe_block(signal, emphasised, begin, end)
        starts = np.arange(count) * self._hop / self.rate
        ends = (np.arange(count) * self._hop + self._frame) / self.rate
        present = values[:, MEL_BANDS + MFCCS] >= self.silence_db
        values[~present] = 0.0
        return Frames(values, starts, ends, present)

    def _describe_block(self, signal, emphasised, begin, end):
        """The descriptors of frames `begin` to `end` (float64 rows)."""
        count = end - begin
        offset = begin * self._hop
        raw = frame_signal(signal[offset:], self._frame, self._hop, count)
        frames = frame_signal(emphasised[offset:], self._frame, self._hop, count)
        spectrum = np.fft.rfft(frames * self._window, n=self._fft, axis=1)
        power = (spectrum.real**2 + spectrum.imag**2) / self._fft
        log_mel = np.log(np.maximum(power @ self._mel, POWER_FLOOR))
        mfcc = log_mel @ self._dct

        mean_square = np.mean(raw**2, axis=1)
        energy_db = 10.0 * np.log10(np.maximum(mean_square, POWER_FLOOR))
        signs = raw >= 0
        crossings = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)
        pitch, voicing = self._pitch(signal, offset, count)
        return np.concatenate(
            [
                log_mel,
                mfcc,
                energy_db[:, None],
                crossings[:, None],
                pitch[:, None],
                voicing[:, None],
            ],
            axis=1,
        )

    def _pitch(self, signal, offset, count):
        """Each frame's F0 in Hz (0 when unvoiced) and voicing, `(count,)` each.

        The normalised cross-correlation of the frame `x[0:L]` with the same
        signal `lag` samples later, `sum x[n] x[n + lag] / sqrt(sum x[n] ** 2
        * sum x[n + lag] ** 2)` over `n < L`, for every lag of the pitch range.
        """
        low, high = self._lags
        length = self._frame
        span = length + high + 1
        # The last windows reach past the waveform's end: zeros there.
        stop = offset + (count - 1) * self._hop + span
        padded = np.concatenate([signal[offset:stop], np.zeros(span)])
        windows = frame_signal(padded, span, self._hop, count)
        size = 1 << int(np.ceil(np.log2(span + length)))
        head = np.fft.rfft(windows[:, :length], n=size, axis=1)
        whole = np.fft.rfft(windows, n=size, axis=1)
        products = np.fft.irfft(np.conj(head) * whole, n=size, axis=1)[:, : high + 2]
        cumulative = np.concatenate(
            [np.zeros((count, 1)), np.cumsum(windows**2, axis=1)], axis=1
        )
        lags = np.arange(high + 2)
        shifted = cumulative[:, lags + length] - cumulative[:, lags]
        energy = cumulative[:, length : length + 1]
        denominator = np.sqrt(energy * shifted)
        quiet = denominator <= POWER_FLOOR
        nccf = np.where(quiet, 0.0, products / np.where(quiet, 1.0, denominator))

        # Local peaks inside the pitch range (lags low..high).
        middle = nccf[:, low : high + 1]
        before = nccf[:, low - 1 : high]
        after = nccf[:, low + 1 : high + 2]
        peaks = (middle >= before) & (middle > after) & (middle > 0)
        heights = np.where(peaks, middle, -np.inf)
        best = heights.max(axis=1)
        # The shortest lag whose peak is within 10 % of the highest.
        candidates = peaks & (middle >= 0.9 * best[:, None])
        chosen = np.argmax(candidates, axis=1)
        found = candidates.any(axis=1)
        rows = np.arange(count)
        y0 = before[rows, chosen]
        y1 = middle[rows, chosen]
        y2 = after[rows, chosen]
        curvature = y0 - 2.0 * y1 + y2
        shift = np.where(
            curvature < 0,
            0.5 * (y0 - y2) / np.where(curvature < 0, curvature, -1.0),
            0.0,
        )
        lag = low + chosen + np.clip(shift, -0.5, 0.5)
        voicing = np.where(found, np.clip(best, 0.0, 1.0), 0.0)
        voiced = found & (voicing >= VOICING_THRESHOLD)
        pitch = np.where(voiced, np.clip(self.rate / lag, *PITCH_RANGE), 0.0)
        return pitch, voicing


def _number(name, value):
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"`{name}` must be a number; received {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite; received {value}.")
    return value
