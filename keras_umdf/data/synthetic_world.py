"""How the synthetic data is drawn: the fixed parameters of one dataset
(`SyntheticWorld`) and the clips of each split (`keras_umdf.data.synthetic`
describes the generative process)."""

from __future__ import annotations

import numpy as np

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.data.synthetic_specs import SPECS
from keras_umdf.data.synthetic_specs import dataset_key
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT

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


class SyntheticWorld:
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
        rng = np.random.default_rng([seed, dataset_key(name), _STREAMS["world"]])
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
                [seed, dataset_key(name), _STREAMS["world"], _PSEUDO_STREAM]
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
                [seed, dataset_key(name), _STREAMS["world"], _REAL_STREAM]
            )
            for modality in MODALITIES:  # fixed draw order, whatever dims holds
                self.units[modality] = _real_units(rng, modality, dims.get(modality, 1))
            if PSEUDO_TEXT in dims:
                rng = np.random.default_rng(
                    [
                        seed,
                        dataset_key(name),
                        _STREAMS["world"],
                        _REAL_STREAM,
                        _PSEUDO_STREAM,
                    ]
                )
                self.units[PSEUDO_TEXT] = _real_units(rng, "text", dims[PSEUDO_TEXT])

    def split(self, split_name: str, num: int, steps: int) -> Split:
        """`num` clips of `steps` frames, drawn from the split's own stream."""
        rng = np.random.default_rng(
            [self.seed, dataset_key(self.name), _STREAMS[split_name]]
        )
        latent, labels = self._latent_and_labels(rng, num)
        length = rng.integers(min(_MIN_LENGTH, steps), steps + 1, size=num)
        frames = {}  # modality -> (N, T) float32 present frames, "real" only
        if self.real:
            real_rng = np.random.default_rng(
                [self.seed, dataset_key(self.name), _STREAMS[split_name], _REAL_STREAM]
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
                    dataset_key(self.name),
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
