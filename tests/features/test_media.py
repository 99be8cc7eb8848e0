"""Decoding media with PyAV: waveforms, video frames, durations, errors."""

import numpy as np
import pytest

from tests.features.media_fixtures import harmonic_tone
from tests.features.media_fixtures import write_tone_wav
from tests.features.media_fixtures import write_video
from tests.features.media_fixtures import write_wav

pytest.importorskip("av")

from keras_umdf.features.media import media_duration  # noqa: E402
from keras_umdf.features.media import read_audio  # noqa: E402
from keras_umdf.features.media import read_video_frames  # noqa: E402

pytestmark = pytest.mark.only_backend("tensorflow")

FPS = 25
# 30 flat frames whose grey level tells their index (1.2 s at 25 fps).
GREYS = [8 * i + 10 for i in range(30)]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    frames = [np.full((48, 64, 3), grey, np.uint8) for grey in GREYS]
    tone = harmonic_tone(1.5, 220.0)
    paths = {name: str(folder / name) for name in ("tone.wav", "clip.mkv", "clip.mp4")}
    paths["stored"] = write_tone_wav(paths["tone.wav"], 1.5, 220.0, 16000)
    write_video(paths["clip.mkv"], frames, FPS, audio=tone)  # flac: lossless
    write_video(paths["clip.mp4"], frames, FPS, audio=tone)  # aac: lossy
    paths["mute.mp4"] = str(folder / "mute.mp4")
    write_video(paths["mute.mp4"], frames, FPS)
    paths["sound.mkv"] = str(folder / "sound.mkv")
    write_video(paths["sound.mkv"], [], FPS, audio=tone)
    return paths


def test_wav_round_trip(media):
    waveform = read_audio(media["tone.wav"])
    assert waveform.dtype == np.float32 and waveform.shape == (24000,)
    # 16-bit samples are read as sample / 32768 and written as x * 32767.
    np.testing.assert_allclose(waveform, media["stored"], atol=4e-5)


def test_resampling_keeps_length_and_spectrum(media):
    waveform = read_audio(media["tone.wav"], rate=8000)
    assert waveform.shape == (12000,)
    assert np.abs(waveform).max() <= 1.0

    def strongest(signal, rate):
        # Hz of the strongest spectral line (0.67 Hz apart for 1.5 s).
        spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
        return np.argmax(spectrum) * rate / len(signal)

    # The strongest harmonic (below 4 kHz) is where it was.
    assert strongest(waveform, 8000) == pytest.approx(
        strongest(media["stored"], 16000), abs=1.0
    )
    assert strongest(waveform, 8000) > 200


def test_video_audio_streams_round_trip(media):
    lossless = read_audio(media["clip.mkv"])
    np.testing.assert_allclose(lossless, media["stored"], atol=4e-5)
    # aac: the encoder's delay is removed and its padding cut, so the
    # samples line up with the original, up to the codec's loss.
    lossy = read_audio(media["clip.mp4"])
    assert lossy.shape == (24000,)
    assert np.corrcoef(lossy, media["stored"])[0, 1] > 0.99


def test_audio_only_m4a(media, tmp_path):
    path = str(tmp_path / "tone.m4a")
    write_video(path, [], FPS, audio=media["stored"])
    waveform = read_audio(path)
    assert waveform.shape == (24000,)
    assert np.corrcoef(waveform, media["stored"])[0, 1] > 0.99


def test_channels_are_averaged(tmp_path):
    tone = harmonic_tone(0.5, 220.0) * 1.8  # peak 0.9
    path = str(tmp_path / "stereo.wav")
    stored = write_wav(path, np.stack([tone, tone], axis=1))
    # Both channels alike: the mono mix is either one, not louder.
    np.testing.assert_allclose(read_audio(path), stored[:, 0], atol=4e-5)
    stored = write_wav(path, np.stack([tone, np.zeros_like(tone)], axis=1))
    np.testing.assert_allclose(read_audio(path), stored[:, 0] / 2, atol=4e-5)


def test_no_audio_stream_gives_empty_waveform(media):
    waveform = read_audio(media["mute.mp4"])
    assert waveform.dtype == np.float32 and waveform.shape == (0,)


@pytest.mark.parametrize("name", ["clip.mkv", "clip.mp4", "mute.mp4"])
def test_video_frames_times_and_pixels(media, name):
    frames = list(read_video_frames(media[name]))
    assert len(frames) == 30
    starts = np.array([start for start, _, _ in frames])
    ends = np.array([end for _, end, _ in frames])
    np.testing.assert_allclose(starts, np.arange(30) / FPS, atol=1e-9)
    np.testing.assert_allclose(ends, (np.arange(30) + 1) / FPS, atol=1e-9)
    for (_, _, rgb), grey in zip(frames, GREYS, strict=True):
        assert rgb.dtype == np.uint8 and rgb.shape == (48, 64, 3)
        assert abs(float(rgb.mean()) - grey) < 3


def test_video_frames_fps_keeps_one_per_slot(media):
    kept = list(read_video_frames(media["clip.mkv"], fps=10))
    starts = np.array([start for start, _, _ in kept])
    # 25 fps into 0.1 s slots: the first frame starting in each slot.
    expected = np.array([0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28]) / FPS
    np.testing.assert_allclose(starts, expected, atol=1e-9)
    # A kept frame lasts until the next kept one; the last until 1.2 s.
    ends = np.array([end for _, end, _ in kept])
    np.testing.assert_allclose(ends, np.append(expected[1:], 1.2), atol=1e-9)
    for start, _, rgb in kept:
        assert abs(float(rgb.mean()) - GREYS[round(start * FPS)]) < 3
    again = list(read_video_frames(media["clip.mkv"], fps=10))
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(kept, again, strict=True))
    # More frames per second than the stream has: every frame.
    assert len(list(read_video_frames(media["clip.mkv"], fps=60))) == 30


def test_no_video_stream_yields_nothing(media):
    assert list(read_video_frames(media["sound.mkv"])) == []
    assert list(read_video_frames(media["tone.wav"])) == []


def test_media_duration_is_the_longest_stream(media):
    assert media_duration(media["tone.wav"]) == pytest.approx(1.5, abs=1e-3)
    assert media_duration(media["mute.mp4"]) == pytest.approx(1.2, abs=1e-3)
    # Video 1.2 s, audio 1.5 s.
    assert media_duration(media["clip.mp4"]) == pytest.approx(1.5, abs=0.01)
    assert media_duration(media["clip.mkv"]) == pytest.approx(1.5, abs=0.01)


def test_bad_paths_give_clear_errors(tmp_path):
    missing = str(tmp_path / "nowhere.mp4")
    for call in (read_audio, media_duration, read_video_frames):
        with pytest.raises(FileNotFoundError, match="nowhere.mp4"):
            call(missing)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    for call in (
        read_audio,
        media_duration,
        lambda path: list(read_video_frames(path)),
    ):
        with pytest.raises(ValueError, match="notes.mp4.*expected.*mp4"):
            call(str(text))
    with pytest.raises(ValueError, match="is a folder"):
        read_audio(str(tmp_path))


def test_bad_arguments_give_clear_errors(media):
    with pytest.raises(ValueError, match="rate.*received 0"):
        read_audio(media["tone.wav"], rate=0)
    with pytest.raises(ValueError, match="rate.*received 16000.0"):
        read_audio(media["tone.wav"], rate=16000.0)
    with pytest.raises(ValueError, match="fps.*received -1"):
        read_video_frames(media["clip.mkv"], fps=-1)
