import numpy as np
import pytest

from keras_umdf.features import Clip
from keras_umdf.features import vision
from keras_umdf.features.vision import COLUMNS
from keras_umdf.features.vision import FaceDescriptors
from keras_umdf.features.vision import head_pose
from tests.features import face_media
from tests.features.media_fixtures import write_tone_wav

pytestmark = pytest.mark.only_backend("tensorflow")
# MediaPipe loads OpenCV, which needs the system's libGL: where the machine
# cannot import it, the extractor cannot run and these tests are skipped.
pytest.importorskip("mediapipe")

SMILE = [COLUMNS.index("mouthSmileLeft"), COLUMNS.index("mouthSmileRight")]
YAW, PITCH, ROLL = (COLUMNS.index(name) for name in vision.POSE_NAMES)
CENTER_X, CENTER_Y, WIDTH, HEIGHT = (COLUMNS.index(name) for name in vision.BOX_NAMES)


def _model_or_skip():
    try:
        return vision.default_model_path()
    except FileNotFoundError as error:
        pytest.skip(f"no face landmarker model installed: {error}")


@pytest.fixture(scope="module")
def extractor():
    _model_or_skip()
    face = FaceDescriptors()
    yield face
    face.close()


def _tone_wav(folder):
    path = folder / "tone.wav"
    write_tone_wav(path, seconds=0.3)
    return path


@pytest.fixture
def dummy_model(tmp_path):
    # Checks that run before the model is loaded only need an existing file.
    path = tmp_path / "face_landmarker.task"
    path.write_bytes(b"not a model")
    return str(path)


def _rotation(yaw, pitch, roll):
    """R = Ry(yaw) Rx(pitch) Rz(roll), each a right-handed axis rotation."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


def test_head_pose_inverts_the_rotation(rng):
    for _ in range(20):
        angles = rng.uniform([-np.pi, -1.5, -np.pi], [np.pi, 1.5, np.pi])
        matrix = np.eye(4)
        matrix[:3, :3] = 1.7 * _rotation(*angles)  # a scaled pose
        matrix[:3, 3] = rng.normal(size=3)
        np.testing.assert_allclose(head_pose(matrix), angles, atol=1e-9)
    with pytest.raises(ValueError, match="reflection"):
        head_pose(np.diag([-1.0, 1.0, 1.0]))


def test_columns_and_spec():
    assert FaceDescriptors.width == len(COLUMNS) == 59
    assert len(set(COLUMNS)) == 59
    assert COLUMNS[:2] == ("_neutral", "browDownLeft")
    assert COLUMNS[51:] == (
        "noseSneerRight",
        "head_yaw",
        "head_pitch",
        "head_roll",
        "face_center_x",
        "face_center_y",
        "face_width",
        "face_height",
    )


def test_portrait_gives_a_smiling_frontal_face(extractor):
    assert extractor.spec() == {
        "modality": "vision",
        "name": "mediapipe_face_blendshapes",
        "version": "1",
        "width": 59,
    }
    assert extractor.model_sha256 == vision.MODEL_SHA256
    values, found = extractor.describe_image(face_media.face_image(256))
    assert found is True
    assert values.dtype == np.float32 and values.shape == (59,)
    assert np.all((values[:52] >= 0) & (values[:52] <= 1))
    # The astronaut smiles broadly, eyes open, mouth closed.
    assert np.all(values[SMILE] > 0.5)
    assert values[COLUMNS.index("eyeBlinkLeft")] < 0.3
    assert values[COLUMNS.index("jawOpen")] < 0.3
    # She faces the camera: little yaw or roll.
    assert abs(values[YAW]) < np.radians(10)
    assert abs(values[ROLL]) < np.radians(10)
    # Her face is in the upper middle of the portrait.
    assert 0.35 < values[CENTER_X] < 0.65
    assert 0.1 < values[CENTER_Y] < 0.45
    assert 0.15 < values[WIDTH] < 0.5 and 0.15 < values[HEIGHT] < 0.6


def test_box_and_smile_follow_the_face_not_the_image_size(extractor):
    small, _ = extractor.describe_image(face_media.face_image(256))
    large, _ = extractor.describe_image(face_media.face_image(512))
    np.testing.assert_allclose(small[55:], large[55:], atol=0.02)
    np.testing.assert_allclose(small[SMILE], large[SMILE], atol=0.1)


def test_no_face_in_blank_or_noise_frames(extractor):
    for frame in (face_media.blank_image(256), face_media.noise_image(256)):
        values, found = extractor.describe_image(frame)
        assert found is False
        assert values.shape == (59,) and not values.any()


def test_roll_and_box_follow_a_rotated_and_mirrored_face(extractor):
    face = face_media.face_image(256)
    upright, _ = extractor.describe_image(face)
    turned, found = extractor.describe_image(face_media.rotated(face, 20.0))
    assert found
    # Turned 20 degrees counter-clockwise: the roll grows by about as much.
    assert abs(np.degrees(turned[ROLL] - upright[ROLL]) - 20.0) < 5.0
    mirrored, found = extractor.describe_image(np.ascontiguousarray(face[:, ::-1]))
    assert found
    assert abs(mirrored[ROLL] + upright[ROLL]) < np.radians(2)
    assert abs(mirrored[CENTER_X] - (1 - upright[CENTER_X])) < 0.02
    # Mirroring swaps the left and right smile scores.
    np.testing.assert_allclose(mirrored[SMILE], upright[SMILE][::-1], atol=0.05)


def test_same_frame_same_bytes(extractor, tmp_path):
    face = face_media.face_image(256)
    first, _ = extractor.describe_image(face)
    extractor.describe_image(face_media.rotated(face, 30.0))  # no state kept
    again, _ = extractor.describe_image(face)
    other = FaceDescriptors(min_confidence=0.5)
    fresh, _ = other.describe_image(face)
    other.close()
    assert first.tobytes() == again.tobytes() == fresh.tobytes()


def test_video_presence_pattern_and_times(extractor, tmp_path):
    # 20 frames/s for 0.8 s: the face in the first 0.4 s, then blank frames.
    path = tmp_path / "face.mkv"
    face_media.write_face_video(path, [True] * 8 + [False] * 8, fps=20, size=256)
    frames = extractor.extract(Clip("c1", media=str(path)))  # at 10 frames/s
    expected = np.arange(8) / 10
    np.testing.assert_allclose(frames.starts, expected, atol=1e-6)
    np.testing.assert_allclose(frames.ends, expected + 0.1, atol=1e-6)
    np.testing.assert_array_equal(frames.present, [True] * 4 + [False] * 4)
    assert frames.values.dtype == np.float32 and frames.values.shape == (8, 59)
    assert np.all(frames.values[:4, SMILE] > 0.5)
    assert not frames.values[4:].any()
    again = extractor.extract(Clip("c1", media=str(path)))
    assert again.values.tobytes() == frames.values.tobytes()


def test_fps_option_keeps_every_frame(tmp_path):
    _model_or_skip()
    path = tmp_path / "face.mp4"
    face_media.write_face_video(
        path, [False, True, False, True, True], fps=10, size=128
    )
    face = FaceDescriptors(fps=25.0)
    frames = face.extract(Clip("c1", media=str(path)))
    face.close()
    np.testing.assert_allclose(frames.starts, np.arange(5) / 10, atol=1e-6)
    np.testing.assert_array_equal(frames.present, [False, True, False, True, True])


def test_clip_without_video_gives_no_frames(dummy_model, tmp_path):
    face = FaceDescriptors(model_path=dummy_model)
    for clip in (
        Clip("text", transcript="hello"),
        Clip("audio", media=str(_tone_wav(tmp_path))),
    ):
        frames = face.extract(clip)
        assert frames.values.shape == (0, 59) and not frames.found


def test_bad_arguments_are_refused(dummy_model, tmp_path):
    for fps in (0, -1.0, float("nan"), True, "10"):
        with pytest.raises(ValueError, match="fps"):
            FaceDescriptors(fps=fps, model_path=dummy_model)
    with pytest.raises(ValueError, match="1.5"):
        FaceDescriptors(min_confidence=1.5, model_path=dummy_model)
    missing = str(tmp_path / "nowhere.task")
    with pytest.raises(FileNotFoundError, match="nowhere.task"):
        FaceDescriptors(model_path=missing)
    face = FaceDescriptors(model_path=dummy_model)
    bad_frames = (
        np.zeros((8, 8, 3), np.float32),
        np.zeros((8, 8), np.uint8),
        np.zeros((8, 8, 4), np.uint8),
        np.zeros((0, 8, 3), np.uint8),
    )
    for frame in bad_frames:
        with pytest.raises(ValueError, match=r"received"):
            face.describe_image(frame)
    with pytest.raises(FileNotFoundError, match="absent.mp4"):
        face.extract(Clip("c1", media=str(tmp_path / "absent.mp4")))
    with pytest.raises(ValueError, match="face landmarker model"):
        face.describe_image(np.zeros((8, 8, 3), np.uint8))


def test_default_model_is_checked(monkeypatch):
    _model_or_skip()
    monkeypatch.setattr(vision, "MODEL_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="sha256"):
        FaceDescriptors()
