"""Per-dimension standardisation of one modality's raw features, over present frames."""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
from keras import ops

from keras_umdf.api_export import keras_umdf_export

# Values (not bytes) of one float64 chunk in `adapt`: 4M values, 32 MiB.
_CHUNK_VALUES = 1 << 22


@keras_umdf_export
class FeatureNormalization(keras.layers.Layer):
    """Standardises one modality's features per dimension, keeping absent frames zero.

    Real feature files differ in scale by orders of magnitude (BERT token states
    with a standard deviation near 0.4, COVAREP values in the hundreds, Facet
    values near 1) and hold zero frames: padding and missing frames. This layer
    maps each present frame to

        y[b, t, j] = (x[b, t, j] - mean[j]) / std[j]

    and every absent frame (masked out, or all-zero) to the zero vector, the
    model's contract for a missing frame. `mean` and `std` are fitted with `adapt` on the training split,
    counting present frames only (never the zero padding). `std` is the
    population standard deviation; a dimension whose `std` is below `epsilon`
    (e.g. a constant COVAREP column) gets `std = 1`, so it is centred but not
    blown up.

    Before `adapt` the statistics are `mean = 0`, `std = 1`: the layer is the
    identity on present frames (and still zeroes absent ones); `adapted` is
    False. The statistics and the number of frames they were fitted on are
    non-trainable float32 weights, saved with the model.

    The layer computes in float32 whatever the dtype policy and does not cast
    its inputs to the compute dtype first (raw values in the hundreds lose their
    small variations in float16); only the standardised output is cast to the
    compute dtype.

    Args:
        epsilon: dimensions whose standard deviation over the present training
            frames is below this value (in the features' units) are not scaled.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, d)` raw features of one modality.
        mask: optional `(batch, T)`, nonzero (or True) where a frame is present,
            e.g. the pipeline's `"<modality>_mask"`, or the input's Keras mask.
            A frame is present where the mask says so (every frame if None)
            and any of its features is nonzero: an all-zero frame is missing
            whatever the mask says, as in `adapt` (the pipeline's mask marks the
            zero padding of aligned data present).

    Returns:
        `(batch, T, d)` in the layer's compute dtype: standardised present
        frames, exactly zero absent frames. The mask is applied here (absent
        frames are the zero vector), so none is passed on: a model's later
        layers see the missing frames as the paper does, as zeros.

    Example:

    ```python
    audio = np.random.normal(200.0, 50.0, (64, 50, 74)).astype("float32")
    audio[:, 30:] = 0.0  # padding at the end
    normalize = keras_umdf.layers.FeatureNormalization(name="audio_norm")
    normalize.adapt(audio)  # statistics of the 64 x 30 present frames
    normalize(audio)  # (64, 50, 74): frames 30-49 stay zero
    normalize.adapted  # True
    ```
    """

    def __init__(self, epsilon: float = 1e-6, **kwargs):
        if kwargs.pop("autocast", False):
            raise ValueError(
                "FeatureNormalization always computes in float32 and never casts "
                "its inputs first; received autocast=True. Leave autocast out."
            )
        super().__init__(autocast=False, **kwargs)
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, numbers.Real)
            or not math.isfinite(epsilon)
            or not epsilon > 0
        ):
            raise ValueError(
                f"epsilon must be a positive number; received epsilon={epsilon!r}."
            )
        self.epsilon = float(epsilon)
        self.supports_masking = True

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                "FeatureNormalization expects (batch, time, features) with a known "
                f"feature size; received shape {input_shape}."
            )
        self._width = int(input_shape[-1])
        self.mean = self.add_weight(
            shape=(self._width,),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            name="mean",
        )
        self.std = self.add_weight(
            shape=(self._width,),
            initializer="ones",
            dtype="float32",
            trainable=False,
            name="std",
        )
        self.count = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            name="count",
        )

    @property
    def adapted(self) -> bool:
        """Whether `adapt` has fitted the statistics (saved with the model)."""
        if not self.built:
            return False
        return bool(ops.convert_to_numpy(self.count) > 0)

    def adapt(self, features, mask=None, lengths=None) -> None:
        """Fits `mean` and `std` on the present frames of `features` (NumPy).

        A frame `(i, t)` counts when it is present and not all-zero: present
        means `mask[i, t] != 0` if `mask` is given, else `t < lengths[i]` (the
        valid leading frames, as in `Split.lengths`) if `lengths` is given,
        else every frame. Zero frames never count, so padding at the front or
        at the end is left out without a mask. The statistics are computed in
        float64, a chunk of clips at a time (the features are never copied
        whole), and replace any fitted before.

        Args:
            features: `(N, T, d)` array of one modality (float32, memory-mapped
                arrays too).
            mask: optional `(N, T)`, nonzero where a frame is present.
            lengths: optional `(N,)` ints >= 0, the number of valid leading
                frames of each clip. Ignored when `mask` is given.

        Raises:
            ValueError: wrong shapes, a width other than the layer's, negative
                lengths, non-finite features, or no frame to fit on.
        """
        features = np.asarray(features)
        if features.ndim != 3 or not np.issubdtype(features.dtype, np.number):
            raise ValueError(
                "FeatureNormalization.adapt expects numeric features (N, T, d); "
                f"received shape {features.shape} of dtype {features.dtype}."
            )
        num, steps, width = features.shape
        if self.built and width != self._width:
            raise ValueError(
                f"FeatureNormalization '{self.name}' was built for {self._width} "
                f"features; adapt received shape {features.shape}. Use a new layer "
                "for another modality."
            )
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (num, steps):
                raise ValueError(
                    f"mask must be (N, T) = {(num, steps)} for features of shape "
                    f"{features.shape}; received shape {mask.shape}."
                )
        elif lengths is not None:
            lengths = np.asarray(lengths)
            if (
                lengths.shape != (num,)
                or not np.issubdtype(lengths.dtype, np.integer)
                or np.any(lengths < 0)
            ):
                raise ValueError(
                    f"lengths must be (N,) = ({num},) ints >= 0, the valid leading "
                    f"frames of each clip; received shape {lengths.shape}, dtype "
                    f"{lengths.dtype}, minimum {lengths.min() if lengths.size else None}."
                )
        count = 0
        mean = np.zeros(width)
        m2 = np.zeros(width)  # sum of squared deviations from the mean
        non_finite = 0
        rows = max(1, _CHUNK_VALUES // max(1, steps * width))
        positions = np.arange(steps)
        for start in range(0, num, rows):
            chunk = features[start : start + rows]
            finite = np.isfinite(chunk)
            non_finite += chunk.size - np.count_nonzero(finite)
            present = np.any(chunk != 0, axis=-1) & finite.all(axis=-1)
            if mask is not None:
                present &= mask[start : start + rows] != 0
            elif lengths is not None:
                present &= positions[None, :] < lengths[start : start + rows, None]
            frames = chunk[present].astype(np.float64)
            if not len(frames):
                continue
            # Chan et al.'s pairwise update of (count, mean, M2).
            chunk_count = len(frames)
            chunk_mean = frames.mean(axis=0)
            chunk_m2 = np.square(frames - chunk_mean).sum(axis=0)
            total = count + chunk_count
            delta = chunk_mean - mean
            mean = mean + delta * (chunk_count / total)
            m2 = m2 + chunk_m2 + np.square(delta) * (count * chunk_count / total)
            count = total
        if non_finite:
            raise ValueError(
                f"features of shape {features.shape} hold {non_finite} non-finite "
                "values (NaN or inf); replace them before adapt (a missing value "
                "is 0, e.g. np.nan_to_num(features, nan=0.0, posinf=0.0, "
                "neginf=0.0))."
            )
        if count == 0:
            raise ValueError(
                f"FeatureNormalization.adapt found no present frame in features of "
                f"shape {features.shape}: every frame is all-zero or masked out. "
                "Pass the training features with their mask or lengths (a frame "
                "counts where it is present and not all-zero)."
            )
        std = np.sqrt(m2 / count)
        std = np.where(std < self.epsilon, 1.0, std)
        if not self.built:
            self.build((None, None, width))
        self.mean.assign(mean.astype(np.float32))
        self.std.assign(std.astype(np.float32))
        self.count.assign(np.float32(count))

    def call(self, inputs, mask=None):
        shape = tuple(inputs.shape)
        if len(shape) != 3 or shape[-1] != self._width:
            raise ValueError(
                f"FeatureNormalization '{self.name}' was built for (batch, time, "
                f"{self._width}); received shape {shape}. Each modality needs its "
                "own normalization."
            )
        x = ops.cast(inputs, "float32")
        # A zero frame is a missing frame (the model's contract), whatever the
        # mask says: the pipeline marks zero padding of aligned data present.
        present = ops.any(ops.not_equal(x, 0.0), axis=-1)
        if mask is not None:
            if len(mask.shape) != 2:
                raise ValueError(
                    f"FeatureNormalization '{self.name}' expects a mask (batch, "
                    f"time) for inputs of shape {shape}; received mask shape "
                    f"{tuple(mask.shape)}."
                )
            present = ops.logical_and(present, ops.cast(mask, "bool"))
        standardized = (x - self.mean) / self.std
        outputs = ops.where(
            ops.expand_dims(present, -1), standardized, ops.zeros_like(standardized)
        )
        return ops.cast(outputs, self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        # The mask is consumed: absent frames leave this layer as zeros.
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config
