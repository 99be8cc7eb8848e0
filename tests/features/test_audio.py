"""The acoustic descriptors: layout, frame times, pitch, silence, errors."""

import numpy as np
import pytest

from keras_umdf.features import AcousticDescriptors
from keras_umdf.features import Clip
from tests.features.media_fixtures import harmonic_tone
from tests.features.media_fixtures import write_tone_wav
from tests.features.media_fixtures import write_video
from tests.features.media_fixtures import write_wav

pytest.importorskip("av")

pytestmark = pytest.mark.only_backend("tensorflow")

RATE = 16000
MEL, MFCC, ENERGY, ZCR, PITCH, VOICING = slice(0, 40), slice(40, 53), 53, 54, 55, 56


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    paths = {
        name: str(folder / name)
        for name in ("tone.wav", "tone.mp4", "mute.mp4", "quiet.wav")
    }
    write_tone_wav(paths["tone.wav"], 1.5, 220.0, RATE)
    frames = [np.full((32, 32, 3), 100, np.uint8)] * 10
    write_video(paths["tone.mp4"], frames, 25, audio=harmonic_tone(1.5, 220.0))
    write_video(paths["mute.mp4"], frames, 25)
    write_wav(paths["quiet.wav"], np.zeros(24000), RATE)
    return paths


def test_spec_and_layout():
    extractor = AcousticDescriptors()
    assert extractor.spec() == {
        "modality": "audio",
        "name": "acoustic_descriptors",
        "version": "1",
        "width": 57,
    }
    assert len(extractor.columns) == 57
    assert extractor.columns[PITCH] == "pitch_hz"


def test_frame_count_and_times(media):
    frames = AcousticDescriptors().extract(Clip("c", media=media["tone.wav"]))
    # 25 ms frames every 10 ms inside 1.5 s: 1 + (24000 - 400) // 160.
    assert frames.values.shape == (148, 57) and frames.values.dtype == np.float32
    np.testing.assert_allclose(frames.starts, np.arange(148) * 0.01, atol=1e-12)
    np.testing.assert_allclose(frames.ends, np.arange(148) * 0.01 + 0.025, atol=1e-12)
    assert frames.present.all() and np.isfinite(frames.values).all()
    coarse = AcousticDescriptors(frame_seconds=0.05, hop_seconds=0.025)
    assert coarse.describe(np.zeros(RATE), RATE).values.shape == (39, 57)


@pytest.mark.parametrize("name", ["tone.wav", "tone.mp4"])
def test_pitch_of_a_220_hz_tone(media, name):
    frames = AcousticDescriptors().extract(Clip("c", media=media[name]))
    np.testing.assert_allclose(frames.values[:, PITCH], 220.0, atol=2.0)
    assert (frames.values[:, VOICING] > 0.9).all()


@pytest.mark.parametrize("f0", [75.0, 130.0, 350.0])
def test_pitch_across_the_range(f0):
    frames = AcousticDescriptors().describe(harmonic_tone(1.0, f0), RATE)
    np.testing.assert_allclose(frames.values[:, PITCH], f0, atol=0.02 * f0)


def test_noise_is_unvoiced():
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, RATE)
    values = AcousticDescriptors().describe(noise, RATE).values
    assert (values[:, PITCH] == 0).mean() > 0.95
    assert values[:, VOICING].mean() < 0.4
    # White noise changes sign between about half its samples.
    assert values[:, ZCR].mean() == pytest.approx(0.5, abs=0.05)


def test_descriptors_against_their_definitions():
    t = np.arange(RATE // 2) / RATE
    sine = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    values = AcousticDescriptors().describe(sine, RATE).values.astype(np.float64)
    frame = sine[160 * 7 : 160 * 7 + 400]
    assert values[7, ENERGY] == pytest.approx(
        10 * np.log10(np.mean(frame**2)), abs=1e-3
    )
    # A 1 kHz sine crosses zero 2000 times a second.
    assert values[7, ZCR] == pytest.approx(2000 / RATE, abs=0.01)
    # The strongest mel band is the one centred nearest 1 kHz (HTK mels).
    mel = 2595 * np.log10(1 + np.array([0.0, 8000.0]) / 700)
    centres = 700 * (10 ** (np.linspace(mel[0], mel[1], 42)[1:-1] / 2595) - 1)
    assert np.argmax(values[7, MEL]) == np.argmin(np.abs(centres - 1000))
    # MFCCs: the orthonormal DCT-II of the log-mel energies.
    n = np.arange(40)
    for k in (0, 1, 5, 12):
        scale = np.sqrt(1 / 40) if k == 0 else np.sqrt(2 / 40)
        reference = scale * np.sum(
            values[7, MEL] * np.cos(np.pi * k * (2 * n + 1) / 80)
        )
        assert values[7, MFCC][k] == pytest.approx(reference, abs=1e-3)


def test_silence_is_absent(media):
    tone = harmonic_tone(1.5, 150.0)
    tone[8000:16000] = 0.0  # silent from 0.5 s to 1.0 s
    frames = AcousticDescriptors().describe(tone, RATE)
    silent = (frames.starts >= 0.5) & (frames.ends <= 1.0)
    assert silent.sum() == 48
    assert not frames.present[silent].any()
    np.testing.assert_array_equal(frames.values[silent], 0.0)
    loud = (frames.ends <= 0.5) | (frames.starts >= 1.0)
    assert frames.present[loud].all()
    # A silence threshold above the tone's level makes every frame silent.
    quietest = AcousticDescriptors(silence_db=-3.0).describe(tone, RATE)
    assert not quietest.present.any()


def test_silent_or_missing_audio(media):
    extractor = AcousticDescriptors()
    quiet = extractor.extract(Clip("q", media=media["quiet.wav"]))
    assert quiet.values.shape == (148, 57) and not quiet.found
    np.testing.assert_array_equal(quiet.values, 0.0)
    for clip in (Clip("m", media=media["mute.mp4"]), Clip("none")):
        frames = extractor.extract(clip)
        assert frames.values.shape == (0, 57) and frames.starts.shape == (0,)
    assert extractor.describe(np.zeros(399, np.float32), RATE).values.shape == (0, 57)


def test_extraction_is_deterministic(media):
    clip = Clip("c", media=media["tone.mp4"])
    first = AcousticDescriptors().extract(clip)
    second = AcousticDescriptors().extract(clip)
    for name in ("values", "starts", "ends", "present"):
        assert getattr(first, name).tobytes() == getattr(second, name).tobytes()


def test_bad_paths(tmp_path):
    extractor = AcousticDescriptors()
    with pytest.raises(FileNotFoundError, match="absent.wav"):
        extractor.extract(Clip("c", media=str(tmp_path / "absent.wav")))
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"\x00\x01 not audio" * 10)
    with pytest.raises(ValueError, match="junk.wav"):
        extractor.extract(Clip("c", media=str(junk)))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"rate": 4000}, "rate.*received 4000"),
        ({"rate": 16000.0}, "rate.*received 16000.0"),
        ({"frame_seconds": 0.0}, "frame_seconds.*received 0.0"),
        ({"frame_seconds": float("nan")}, "frame_seconds.*finite"),
        ({"hop_seconds": 0.03}, "hop_seconds.*received 0.03"),
        ({"silence_db": 6.0}, "silence_db.*received 6.0"),
        ({"silence_db": "loud"}, "silence_db.*number.*'loud'"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        AcousticDescriptors(**options)


@pytest.mark.parametrize(
    "waveform, rate, message",
    [
        (np.zeros(RATE), 8000, "rate is 8000.*16000"),
        (np.zeros((RATE, 2)), RATE, r"mono.*\(16000, 2\)"),
        (np.zeros(RATE, np.int16), RATE, "floats.*int16"),
        (np.full(RATE, np.nan), RATE, "NaN"),
        (np.full(RATE, 2.0), RATE, "peak is 2"),
    ],
)
def test_bad_waveforms(waveform, rate, message):
    with pytest.raises(ValueError, match=message):
        AcousticDescriptors().describe(waveform, rate)
