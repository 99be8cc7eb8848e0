"""Built-in synthetic stand-ins for CMU-MOSI, CMU-MOSEI and IEMOCAP."""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from keras_umdf.argument_validation import check_int
from keras_umdf.data.masking import check_seed
from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.data.multimodal_dataset import SPLITS
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT


@dataclasses.dataclass(frozen=True)
class _Spec:
    sizes: tuple[int, int, int]
    dims: dict
    mmsa_dims: dict | None
    label_step: float | None
    # Sentiment mixture: weights (neutral, negative, positive), mode, spread.
    weights: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mode: float = 0.0
    spread: float = 0.0


PAPER_DIMS = {"text": 300, "audio": 74, "vision": 35}
"""GloVe, COVAREP and Facet widths, as in the UMDF paper."""

SPECS = {
    # Split sizes: the standard folds (MulT / MMSA).
    "mosi": _Spec(
        sizes=(1284, 229, 686),
        dims=PAPER_DIMS,
        mmsa_dims={"text": 768, "audio": 5, "vision": 20},
        label_step=0.2,  # mean of 5 integer ratings
        weights=(0.06, 0.5, 0.44),
        mode=1.4,
        spread=0.8,
    ),
    "mosei": _Spec(
        sizes=(16326, 1871, 4659),
        dims=PAPER_DIMS,
        mmsa_dims={"text": 768, "audio": 74, "vision": 35},
        label_step=1.0 / 3.0,  # mean of 3 integer ratings
        weights=(0.2, 0.25, 0.55),
        mode=1.1,
        spread=0.7,
    ),
    # MulT's IEMOCAP split sizes (4453 clips).
    "iemocap": _Spec(
        sizes=(2717, 798, 938), dims=PAPER_DIMS, mmsa_dims=None, label_step=None
    ),
}
DATASETS = tuple(SPECS)

# Per modality: loadings of the latent dimensions on the modality's signal
# direction, sd of the clip-level idiosyncratic deviation (does not average out
# over frames) and sd of the frame noise. Language is the most informative.
_SENTIMENT_LOADINGS = {"text": (1.0,), "audio": (0.6,), "vision": (0.5,)}
_SENTIMENT_DEVIATION = {"text": 0.9, "audio": 1.6, "vision": 2.2}
# IEMOCAP's latent is (valence, arousal): language carries valence, audio arousal.
_EMOTION_LOADINGS = {"text": (1.0, 0.4), "audio": (0.35, 1.0), "vision": (0.5, 0.3)}
_EMOTION_DEVIATION = {"text": 0.7, "audio": 0.8, "vision": 1.4}
# Emotion centres in (valence, arousal), IEMOCAP_EMOTIONS order, and priors.
_EMOTION_CENTRES = np.array([[0.0, 0.0], [1.4, 0.9], [-1.2, -1.1], [-1.2, 1.2]])
_EMOTION_PRIORS = np.array([0.34, 0.22, 0.21, 0.23])
_EMOTION_SPREAD = 0.5
_SECOND_EMOTION = 0.05

_NUISANCE_DIMS = 4
_NUISANCE_LOADING = 0.6
_FRAME_NOISE = 1.0
_TRIANGULAR_SD = float(np.sqrt(2 * (256**2 - 1) / 12))
_LABEL_NOISE = 0.3
_MIN_LENGTH = 8
_CHUNK = 128
_STREAMS = {"world": 0, "train": 1, "valid": 2, "test": 3}
# The pseudo text draws from its own random streams, so the other arrays of a seed
# are the same with and without it. Its clip-level error: part of the audio's own
# deviation (the recogniser hears what the audio carries) plus a recognition error;
# each clip's recognised fraction of frames is uniform in [_RECOGNISED_MIN, 1].
_PSEUDO_STREAM = 7
_PSEUDO_AUDIO_SHARE = 0.3
_PSEUDO_ERROR = 0.6
_RECOGNISED_MIN = 0.4

FEATURE_STYLES = ("clean", "real")
PADDINGS = ("front", "end")
# feature_style="real" draws from its own random streams too: labels, latents and
# frame noise are those of the "clean" data of the same seed.
_REAL_STREAM = 11
# Clip lengths: T * exp(N(log 0.35, 0.5^2)), rounded, in [_REAL_MIN_LENGTH, T]
# (MMSA's BERT text: a median clip of about 17 tokens out of 50).
_REAL_LENGTH_MEDIAN = 0.35
_REAL_LENGTH_SPREAD = 0.5
_REAL_MIN_LENGTH = 3
# Fraction of a clip's real frames that are zero (a silent or unvoiced stretch, a
# face not found): uniform in [0, max] per clip and modality.
_REAL_DROPOUT_MAX = {"text": 0.0, "audio": 0.2, "vision": 0.4}
# The clip-level signal strength relative to "clean": vision is near chance.
_REAL_SIGNAL = {"text": 1.0, "audio": 1.0, "vision": 0.15}
# Per-dimension units, feature = offset + scale * (clean feature):
# text (BERT/GloVe): scale 0.3 * exp(N(0, 0.25^2)), offset N(0, 0.15^2);
# audio (COVAREP): scale 10^U[-1, 2], offset N(0, 100^2), and width // 16
#   constant columns (scale 0);
# vision (Facet): scale exp(N(0, 0.5^2)), offset N(0, 1).
_TEXT_SCALE = 0.3
_AUDIO_OFFSET = 100.0
_AUDIO_CONSTANT_EVERY = 16


def synthetic(
    name: str = "mosi",
    seed: int = 0,
    *,
    mmsa_features: bool = False,
    scale: float = 1.0,
    sequence_length: int = 50,
    modality_dims: dict[str, int] | None = None,
    pseudo_text: bool = False,
    pseudo_text_dim: int | None = None,
    feature_style: str = "clean",
    padding: str | None = None,
) -> MultimodalDataset:
    """Synthetic MOSI, MOSEI or IEMOCAP with the real shapes, splits and structure.

    The default dataset of keras_umdf: it needs no download, has the shapes and
    split sizes of the real data (MOSI 1284/229/686, MOSEI 16326/1871/4659,
    IEMOCAP 2717/798/938 as in MulT's split; aligned, 50 frames; GloVe 300,
    COVAREP 74, Facet 35, or MMSA's BERT 768 / 5 / 20 for MOSI), and structure a
    model can learn, generated deterministically from `seed` in float32.

    Generative process, per clip i:

    1. A latent z_i: MOSI/MOSEI the sentiment s_i from a mixture of a neutral
       spike N(0, 0.25^2) and two modes N(-+mu, sd^2) (MOSI symmetric, MOSEI
       skewed positive with more neutral clips); IEMOCAP (valence, arousal) =
       the centre of an emotion drawn from the priors (neutral, happy, sad,
       angry) + N(0, 0.5^2) noise.
    2. Labels: MOSI/MOSEI y_i = s_i + N(0, 0.3^2) rounded to the annotation
       grid (1/5 for MOSI, 1/3 for MOSEI, so some labels are exactly 0) and
       clipped to [-3, 3]; IEMOCAP multi-label flags (IEMOCAP_EMOTIONS order)
       with the drawn emotion present, plus with probability 0.05 the emotion
       whose centre is next closest to z_i.
    3. A clip length L_i uniform in [8, T]; frames before T - L_i are zero
       (front padding, as in the aligned MulT/MMSA arrays; `padding="end"`
       zeroes the frames from L_i on instead). A shared temporal
       envelope g_i(t) > 0 (smooth AR(1)) sets how strongly the clip expresses
       z_i at frame t, and a shared 4-d nuisance trajectory r_i(t) (AR(1),
       rho = 0.9: speaker, topic, recording) is unrelated to the label.
    4. Modality m: x_m(i, t) = g_i(t) * (c_m . (z_i + e_mi)) * w_m
       + r_i(t) C_m + unit-variance noise per feature (triangular: the sum of
       two uniforms, drawn fast), with w_m a random unit direction,
       C_m random loadings (both fixed per seed, shared by the splits), c_m the
       modality's loadings on z and e_mi ~ N(0, tau_m^2) a clip-level deviation
       of modality m that does not average out over frames: tau is 0.9 for
       language, 1.6 for audio and 2.2 for vision (sentiment), so language is
       the most informative and audio and vision are weaker. For IEMOCAP
       language loads on valence, audio on arousal.
    5. All modalities share g_i(t) z_i and r_i(t), so they are correlated and a
       missing one can partly be recovered from the others.
    6. Optional pseudo text (`pseudo_text=True`), the stand-in for a transcript
       that is missing, as an ASR system would give it from the audio: a noisy,
       partial copy of the text signal. Its clip-level strength is
       c_L . (z_i + e_Li + 0.3 e_Ai + u_i): the text's own content (with the
       text's deviation e_Li) plus 0.3 of the audio's deviation and a
       recognition error u_i ~ N(0, 0.6^2); only a random fraction
       q_i ~ U[0.4, 1] of the frames carries it ("recognised words"), with the
       shared envelope, nuisance and frame noise, in its own direction of its
       own width (default: the text's). It is less informative than the text
       and more than the audio, and adds to audio and vision part of what the
       text would. It comes from separate random streams: every other array is
       the same with and without it.

    A linear model on time-averaged features predicts MOSI test labels clearly
    better than the mean with all modalities, better with language alone than
    with vision alone, and at chance with shuffled training labels (tested).

    Real-looking features (`feature_style="real"`): the same clips, latents,
    labels and frame noise as the default ("clean") data of the same seed, with
    the properties of the real feature files that a model must cope with:

    - Units per modality and dimension, feature = offset_j + scale_j * (clean
      feature) on present frames: text like BERT token states or GloVe (scale
      0.3 exp(N(0, 0.25^2)), offset N(0, 0.15^2): a standard deviation near
      0.35), audio like COVAREP (scale 10^U[-1, 2], offset N(0, 100^2): values
      in the hundreds, dimensions differing by orders of magnitude, and
      `width // 16` constant columns), vision like Facet (scale
      exp(N(0, 0.5^2)), offset N(0, 1)).
    - Short clips and much padding: length T exp(N(log 0.35, 0.5^2)) rounded
      to [3, T] (a median of about 17 of 50 frames), shared by the aligned
      modalities, zero-padded at the end by default (MMSA's BERT text) or at
      the front (`padding="front"`, MulT's aligned pickles).
    - Zero frames inside the clip: a fraction U[0, 0.2] of each clip's audio
      frames and U[0, 0.4] of its vision frames are all-zero.
    - A weak modality: vision carries 0.15 of its clean signal (near chance).
    - No `Split.lengths`, as in the aligned files: padding is only visible as
      zero frames. The pseudo text gets the text's units, and padding only.

    A linear model on the text's frames averaged over its real (nonzero) frames
    still predicts the labels clearly better than the mean (tested).

    Args:
        name: "mosi", "mosei" or "iemocap".
        seed: non-negative int; the same seed gives the same arrays.
        mmsa_features: MMSA's feature widths (BERT 768 text; MOSI audio 5,
            vision 20) instead of the paper's 300/74/35. Not for IEMOCAP.
        scale: fraction of the real split sizes to generate (each split keeps
            at least 2 clips), e.g. 0.05 for a quick test.
        sequence_length: frames per clip T (50 in the aligned data).
        modality_dims: feature widths to use instead (e.g. tiny ones for tests).
        pseudo_text: add a "pseudo_text" stream to every split (step 6).
        pseudo_text_dim: its width; default the text width (300, or 768 with
            `mmsa_features`).
        feature_style: "clean" (the default: unit-scale features, clips of
            8 to T frames) or "real" (units, lengths, zero frames and a weak
            modality like the real feature files; see above).
        padding: where the zero padding of a clip goes, "front" or "end";
            None means "front" for "clean" and "end" for "real".

    Returns:
        A validated `MultimodalDataset` with splits "train", "valid", "test"
        (regression for MOSI/MOSEI; multi-label classification with 4 labels
        for IEMOCAP).

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosi", seed=0)
    data.modality_dims  # {"text": 300, "audio": 74, "vision": 35}
    tiny = keras_umdf.data.synthetic("iemocap", scale=0.02, sequence_length=10)
    sdumc = keras_umdf.data.synthetic("mosei", pseudo_text=True)
    sdumc.modality_dims  # {..., "pseudo_text": 300}
    ```
    """
    if name not in SPECS:
        raise ValueError(f"name must be one of {DATASETS}; received name={name!r}.")
    spec = SPECS[name]
    seed = check_seed(seed)
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0:
        raise ValueError(
            f"scale must be a positive fraction of the real split sizes; received "
            f"scale={scale!r}."
        )
    sequence_length = check_int("sequence_length", sequence_length)
    if modality_dims is not None:
        dims = dict(modality_dims)
        unknown = sorted(set(dims) - set(MODALITIES))
        bad = {
            m: d
            for m, d in dims.items()
            if not isinstance(d, numbers.Integral) or d < 1
        }
        if unknown or bad or not dims:
            raise ValueError(
                f"modality_dims maps some of {MODALITIES} to positive widths; "
                f"received {modality_dims!r}."
            )
    elif mmsa_features:
        if spec.mmsa_dims is None:
            raise ValueError(
                f"mmsa_features=True has no meaning for {name!r} (MMSA ships MOSI "
                "and MOSEI only); leave it False."
            )
        dims = spec.mmsa_dims
    else:
        dims = spec.dims
    dims = {m: int(dims[m]) for m in MODALITIES if m in dims}
    if pseudo_text_dim is not None and (
        isinstance(pseudo_text_dim, bool)
        or not isinstance(pseudo_text_dim, numbers.Integral)
        or pseudo_text_dim < 1
        or not pseudo_text
    ):
        raise ValueError(
            "pseudo_text_dim is the positive width of the pseudo text and needs "
            f"pseudo_text=True; received pseudo_text={pseudo_text!r}, "
            f"pseudo_text_dim={pseudo_text_dim!r}."
        )
    if pseudo_text:
        dims[PSEUDO_TEXT] = int(pseudo_text_dim or dims.get("text", spec.dims["text"]))
    if feature_style not in FEATURE_STYLES:
        raise ValueError(
            f"feature_style must be one of {FEATURE_STYLES}; received "
            f"feature_style={feature_style!r}."
        )
    if padding is None:
        padding = "end" if feature_style == "real" else "front"
    if padding not in PADDINGS:
        raise ValueError(
            f"padding must be one of {PADDINGS} (or None for the style's default); "
            f"received padding={padding!r}."
        )
    steps = int(sequence_length)
    world = _World(name, seed, dims, real=feature_style == "real", padding=padding)
    splits = {}
    for split_name, size in zip(SPLITS, spec.sizes, strict=True):
        num = max(2, int(round(size * float(scale))))
        rng = np.random.default_rng([seed, _dataset_key(name), _STREAMS[split_name]])
        splits[split_name] = world.split(rng, split_name, num, steps)
    if name == "iemocap":
        return MultimodalDataset(
            splits,
            task="classification",
            num_classes=len(IEMOCAP_EMOTIONS),
            multi_label=True,
            label_names=IEMOCAP_EMOTIONS,
            name="synthetic-iemocap",
        )
    return MultimodalDataset(splits, task="regression", name=f"synthetic-{name}")


def _dataset_key(name: str) -> int:
    return DATASETS.index(name) + 1


class _World:
    """The fixed parameters of one synthetic dataset (shared by its splits)."""

    def __init__(
        self,
        name: str,
        seed: int,
        dims: dict[str, int],
        *,
        real: bool = False,
        padding: str = "front",
    ):
        self.name = name
        self.real = real
        self.padding = padding
        self.spec = SPECS[name]
        self.dims = dims
        rng = np.random.default_rng([seed, _dataset_key(name), _STREAMS["world"]])
        emotion = name == "iemocap"
        self.loadings = _EMOTION_LOADINGS if emotion else _SENTIMENT_LOADINGS
        self.deviation = _EMOTION_DEVIATION if emotion else _SENTIMENT_DEVIATION
        self.latent_dims = 2 if emotion else 1
        self.directions = {}
        self.nuisance = {}
        for modality in MODALITIES:  # fixed draw order, whatever dims holds
            width = dims.get(modality, 1)
            direction = rng.standard_normal(width)
            self.directions[modality] = (direction / np.linalg.norm(direction)).astype(
                np.float32
            )
            loading = rng.standard_normal((_NUISANCE_DIMS, width))
            self.nuisance[modality] = (
                _NUISANCE_LOADING * loading / np.sqrt(_NUISANCE_DIMS)
            ).astype(np.float32)
        if PSEUDO_TEXT in dims:
            rng = np.random.default_rng(
                [seed, _dataset_key(name), _STREAMS["world"], _PSEUDO_STREAM]
            )
            direction = rng.standard_normal(dims[PSEUDO_TEXT])
            self.directions[PSEUDO_TEXT] = (
                direction / np.linalg.norm(direction)
            ).astype(np.float32)
            loading = rng.standard_normal((_NUISANCE_DIMS, dims[PSEUDO_TEXT]))
            self.nuisance[PSEUDO_TEXT] = (
                _NUISANCE_LOADING * loading / np.sqrt(_NUISANCE_DIMS)
            ).astype(np.float32)
        self.seed = seed
        self.units = {}  # modality -> (offset, scale), feature_style="real"
        if real:
            rng = np.random.default_rng(
                [seed, _dataset_key(name), _STREAMS["world"], _REAL_STREAM]
            )
            for modality in MODALITIES:  # fixed draw order, whatever dims holds
                self.units[modality] = _real_units(rng, modality, dims.get(modality, 1))
            if PSEUDO_TEXT in dims:
                rng = np.random.default_rng(
                    [
                        seed,
                        _dataset_key(name),
                        _STREAMS["world"],
                        _REAL_STREAM,
                        _PSEUDO_STREAM,
                    ]
                )
                self.units[PSEUDO_TEXT] = _real_units(rng, "text", dims[PSEUDO_TEXT])

    def split(
        self, rng: np.random.Generator, split_name: str, num: int, steps: int
    ) -> Split:
        latent, labels = self._latent_and_labels(rng, num)
        length = rng.integers(min(_MIN_LENGTH, steps), steps + 1, size=num)
        frames = {}  # modality -> (N, T) float32 present frames, "real" only
        if self.real:
            real_rng = np.random.default_rng(
                [self.seed, _dataset_key(self.name), _STREAMS[split_name], _REAL_STREAM]
            )
            typical = np.exp(
                np.log(_REAL_LENGTH_MEDIAN * steps)
                + _REAL_LENGTH_SPREAD * real_rng.standard_normal(num)
            )
            length = np.clip(np.round(typical), min(_REAL_MIN_LENGTH, steps), steps)
            length = length.astype(np.int64)
        if self.padding == "front":
            valid = np.arange(steps)[None, :] >= (steps - length)[:, None]
        else:
            valid = np.arange(steps)[None, :] < length[:, None]
        present = valid.astype(np.float32)
        if self.real:
            for modality in MODALITIES:  # fixed draw order, whatever dims holds
                fraction = real_rng.uniform(
                    0.0, _REAL_DROPOUT_MAX[modality], size=(num, 1)
                )
                kept = real_rng.random((num, steps)) >= fraction
                frames[modality] = present * kept
        envelope = _softplus(1.0 + 0.7 * _ar1(rng, (num, steps), 0.8)).astype(
            np.float32
        )
        envelope *= present
        nuisance = _ar1(rng, (num, steps, _NUISANCE_DIMS), 0.9).astype(np.float32)
        nuisance *= present[:, :, None]
        features = {}
        deviations = {}
        for modality in MODALITIES:
            loading = np.asarray(self.loadings[modality])
            deviation = (
                rng.standard_normal((num, self.latent_dims)) * self.deviation[modality]
            )
            deviations[modality] = deviation
            strength = ((latent + deviation) @ loading).astype(np.float32)  # (N,)
            if modality not in self.dims:
                continue
            if self.real:
                strength *= np.float32(_REAL_SIGNAL[modality])
            signal = envelope * strength[:, None]  # (N, T)
            features[modality] = self._modality(
                rng, modality, signal, nuisance, frames.get(modality, present)
            )
        if PSEUDO_TEXT in self.dims:
            pseudo_rng = np.random.default_rng(
                [
                    self.seed,
                    _dataset_key(self.name),
                    _STREAMS[split_name],
                    _PSEUDO_STREAM,
                ]
            )
            error = _PSEUDO_ERROR * pseudo_rng.standard_normal((num, self.latent_dims))
            content = (
                latent
                + deviations["text"]
                + _PSEUDO_AUDIO_SHARE * deviations["audio"]
                + error
            )
            strength = (content @ np.asarray(self.loadings["text"])).astype(np.float32)
            recognised = pseudo_rng.uniform(_RECOGNISED_MIN, 1.0, size=(num, 1))
            words = pseudo_rng.random((num, steps)) < recognised
            signal = envelope * strength[:, None] * words
            features[PSEUDO_TEXT] = self._modality(
                pseudo_rng, PSEUDO_TEXT, signal, nuisance, present
            )
        ids = _clip_ids(self.name, split_name, num)
        return Split(features=features, labels=labels, ids=ids)

    def _modality(self, rng, modality, signal, nuisance, present) -> np.ndarray:
        num, steps = signal.shape
        width = self.dims[modality]
        # Latent part: [signal, nuisance] (N, T, 1 + k) @ [w; C] (1 + k, d).
        basis = np.concatenate(
            [self.directions[modality][None], self.nuisance[modality]]
        )
        out = np.empty((num, steps, width), dtype=np.float32)
        for start in range(0, num, _CHUNK):
            stop = min(num, start + _CHUNK)
            block = out[start:stop]
            # Unit-variance noise, the sum of two uniform bytes (triangular,
            # close to normal and five times faster to draw than normal).
            halves = rng.integers(-128, 128, (2, *block.shape), dtype=np.int8)
            noise = np.add(halves[0], halves[1], dtype=np.int16)
            scale = present[start:stop, :, None] * np.float32(
                _FRAME_NOISE / _TRIANGULAR_SD
            )
            np.multiply(noise, scale, out=block, casting="unsafe")
            latent = np.concatenate(
                [signal[start:stop, :, None], nuisance[start:stop]], axis=-1
            )
            block += latent @ basis
            if modality in self.units:
                offset, scale = self.units[modality]
                block *= scale
                block += offset
                block *= present[start:stop, :, None]
        return out

    def _latent_and_labels(self, rng, num):
        if self.latent_dims == 2:
            emotion = rng.choice(len(_EMOTION_PRIORS), size=num, p=_EMOTION_PRIORS)
            latent = _EMOTION_CENTRES[emotion] + _EMOTION_SPREAD * rng.standard_normal(
                (num, 2)
            )
            labels = np.zeros((num, len(IEMOCAP_EMOTIONS)), dtype=np.int32)
            labels[np.arange(num), emotion] = 1
            distance = np.linalg.norm(latent[:, None] - _EMOTION_CENTRES[None], axis=-1)
            distance[np.arange(num), emotion] = np.inf
            second = np.argmin(distance, axis=1)
            extra = rng.random(num) < _SECOND_EMOTION
            labels[np.flatnonzero(extra), second[extra]] = 1
            return latent, labels
        spec = self.spec
        component = rng.choice(3, size=num, p=spec.weights)
        centre = np.array([0.0, -spec.mode, spec.mode])[component]
        spread = np.array([0.25, spec.spread, spec.spread])[component]
        sentiment = np.clip(centre + spread * rng.standard_normal(num), -3.0, 3.0)
        rating = sentiment + _LABEL_NOISE * rng.standard_normal(num)
        labels = np.round(rating / spec.label_step) * spec.label_step
        labels = np.clip(labels, -3.0, 3.0).astype(np.float32) + np.float32(0.0)
        return sentiment[:, None], labels


def _real_units(rng: np.random.Generator, modality: str, width: int):
    """(offset, scale) float32 (width,) of a modality's real-looking features."""
    normal = rng.standard_normal((2, width))
    if modality == "text":
        offset = 0.15 * normal[0]
        scale = _TEXT_SCALE * np.exp(0.25 * normal[1])
    elif modality == "audio":
        offset = _AUDIO_OFFSET * normal[0]
        scale = 10.0 ** rng.uniform(-1.0, 2.0, width)
        constant = rng.permutation(width)[: width // _AUDIO_CONSTANT_EVERY]
        scale[constant] = 0.0
    else:
        offset = normal[0]
        scale = np.exp(0.5 * normal[1])
    return offset.astype(np.float32), scale.astype(np.float32)


def _ar1(rng: np.random.Generator, shape, rho: float) -> np.ndarray:
    """A stationary AR(1) process with unit variance along axis 1."""
    noise = rng.standard_normal(shape)
    out = np.empty(shape)
    out[:, 0] = noise[:, 0]
    innovation = np.sqrt(1.0 - rho**2)
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + innovation * noise[:, t]
    return out


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _clip_ids(name: str, split_name: str, num: int) -> np.ndarray:
    """MMSA-style ids "video$_$clip", a few clips per synthetic video."""
    video = np.arange(num) // 6
    clip = np.arange(num) % 6
    return np.array(
        [
            f"synth_{name}_{split_name}_{v:05d}$_${c}"
            for v, c in zip(video, clip, strict=True)
        ]
    )
