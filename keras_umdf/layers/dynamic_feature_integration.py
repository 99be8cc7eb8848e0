"""Dynamic Feature Integration Module, DFIM (Eqs. 10-11)."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int

FUSIONS = ("dynamic", "concat")

# See crossmodal_attention.py: masked frames get exactly zero softmax weight.
_MASKED_LOGIT = -1e9


@keras_umdf_export
class DynamicFeatureIntegration(keras.layers.Layer):
    """Fuses the two views' joint representations H_a, H_b into H_e (DFIM).

    With `fusion="dynamic"` (the paper's DFIM), for each stream `k` in {a, b}:

    1. frame-level self-enhancement: a frame score `H^_k = H_k W_theta + b`
       (`Dense(1)`), `M_k = softmax(H^_k)` over the time axis (in float32), and
       `H~_k = M_k * H_k`, each frame scaled by its weight;
    2. selective filtering (Eq. 10): `mu = sigmoid(Conv1D([H~_a; H~_b]))`, a
       convolution over time (`kernel_size` taps, "same" padding, `D` filters) of
       the two streams concatenated on the feature axis;
    3. integration (Eq. 11): `H_e = mu * H~_a + (1 - mu) * H~_b`.

    Assumed (design decision 1, docs/design-decisions.md): the paper says "matrix multiplication of M_k
    with H_k". With `M_k` of shape (T, 1) that product, `M_k^T H_k`, is one pooled
    (1, D) vector: the sequence would be gone, yet Eq. 10 convolves over frames, a
    transformer encoder follows and the prediction reads "the last element". So
    `H~_k` is the frame-wise reweighting `M_k * H_k`, broadcast over features.

    Assumed: one `Dense(1)` scorer is shared by both streams; the paper writes
    `W_theta` without a stream index, and the two streams are the same network's
    representations of two views.

    With `fusion="concat"` (the Table 3 ablation "concatenation instead of DFIM"):
    `H_e = Dense(D)([H_a; H_b])`. Assumed: the projection back to `D` keeps the
    rest of the network unchanged.

    Args:
        kernel_size: taps over time of the gate's convolution (3 in the paper).
        fusion: "dynamic" (DFIM) or "concat" (ablation).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a list or tuple `[H_a, H_b]`, each `(batch, T, D)`, of one shape.
        mask: optional `[mask_a, mask_b]`, each `(batch, T)` bool or 0/1 float (or
            None), True/1 where the frame is present; taken from the inputs'
            Keras masks when not given. Missing frames get zero softmax weight in
            `M_k`; a stream with no present frame in a row gives `H~_k = 0` there
            (finite values and gradients). Ignored by `fusion="concat"`.

    Returns:
        `H_e`, `(batch, T, D)`. Its Keras mask is `mask_a OR mask_b` when both
        masks are given.

    Example:

    ```python
    dfim = keras_umdf.layers.DynamicFeatureIntegration()
    h_a = np.random.rand(4, 50, 120).astype("float32")
    h_b = np.random.rand(4, 50, 120).astype("float32")
    h_e = dfim([h_a, h_b])  # (4, 50, 120)
    ```
    """

    def __init__(self, kernel_size: int = 3, fusion: str = "dynamic", **kwargs):
        super().__init__(**kwargs)
        kernel_size = check_int("kernel_size", kernel_size)
        if fusion not in FUSIONS:
            raise ValueError(
                f"fusion must be one of {FUSIONS}; received {fusion!r}. Use "
                "'dynamic' for the paper's DFIM, 'concat' for the Table 3 ablation."
            )
        self.kernel_size = kernel_size
        self.fusion = fusion
        self.supports_masking = True

    def build(self, input_shape):
        shape_a, shape_b = _check_pair_shapes(input_shape)
        if shape_a[-1] is None:
            raise ValueError(
                "DynamicFeatureIntegration needs a known feature size; received "
                f"shapes {shape_a} and {shape_b}."
            )
        width = shape_a[-1]
        self._width = width
        pair_shape = shape_a[:-1] + (2 * width,)
        if self.fusion == "dynamic":
            self.score_dense = keras.layers.Dense(
                1, dtype=self.dtype_policy, name="frame_score"
            )
            self.score_dense.build(shape_a)
            self.gate_convolution = keras.layers.Conv1D(
                width,
                self.kernel_size,
                padding="same",
                activation="sigmoid",
                dtype=self.dtype_policy,
                name="gate",
            )
            self.gate_convolution.build(pair_shape)
        else:
            self.concat_dense = keras.layers.Dense(
                width, dtype=self.dtype_policy, name="concat_projection"
            )
            self.concat_dense.build(pair_shape)

    def call(self, inputs, mask=None):
        shape_a, _ = _check_pair_shapes([tuple(x.shape) for x in _as_pair(inputs)])
        if shape_a[-1] != self._width:
            raise ValueError(
                f"DynamicFeatureIntegration '{self.name}' was built for (batch, time, "
                f"{self._width}); received H_a and H_b of shape {shape_a}."
            )
        h_a, h_b = inputs
        if self.fusion == "concat":
            return self.concat_dense(ops.concatenate([h_a, h_b], axis=-1))
        mask_a, mask_b = (None, None) if mask is None else _as_pair(mask, "masks")
        enhanced_a = self._self_enhance(h_a, mask_a)
        enhanced_b = self._self_enhance(h_b, mask_b)
        mu = self.gate_convolution(ops.concatenate([enhanced_a, enhanced_b], axis=-1))
        return enhanced_b + mu * (enhanced_a - enhanced_b)

    def _self_enhance(self, h, mask):
        """H~ = softmax_time(Dense(1)(H)) * H, the frame-wise reweighting."""
        scores = ops.cast(self.score_dense(h), "float32")  # (batch, T, 1)
        if mask is not None:
            present = ops.expand_dims(ops.cast(mask, "bool"), -1)
            scores = ops.where(present, scores, _MASKED_LOGIT)
        weights = ops.softmax(scores, axis=1)
        if mask is not None:
            # A row without any present frame: weights exactly 0, not uniform.
            weights = weights * ops.cast(
                ops.any(present, axis=1, keepdims=True), "float32"
            )
        return ops.cast(weights, h.dtype) * h

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        mask_a, mask_b = _as_pair(mask, "masks")
        if mask_a is None or mask_b is None:
            return None
        return ops.logical_or(ops.cast(mask_a, "bool"), ops.cast(mask_b, "bool"))

    def compute_output_shape(self, input_shape):
        return tuple(_as_pair(input_shape)[0])

    def get_config(self):
        config = super().get_config()
        config.update({"kernel_size": self.kernel_size, "fusion": self.fusion})
        return config


def _as_pair(value, what: str = "inputs"):
    """Checks that `value` is a pair [a, b] and returns it."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        if isinstance(value, (list, tuple)):
            received = f"a {type(value).__name__} of {len(value)} items"
        else:
            received = f"a {type(value).__name__}"
        raise ValueError(
            f"DynamicFeatureIntegration expects {what} as a list of two, one per "
            f"view ([H_a, H_b]); received {received}."
        )
    return value


def _check_pair_shapes(shapes):
    """Checks that H_a and H_b have one (batch, time, features) shape."""
    shape_a, shape_b = (tuple(s) for s in _as_pair(shapes))
    if len(shape_a) != 3 or len(shape_b) != 3:
        raise ValueError(
            "DynamicFeatureIntegration expects H_a and H_b as (batch, time, "
            f"features); received shapes {shape_a} and {shape_b}."
        )
    if any(
        a is not None and b is not None and a != b
        for a, b in zip(shape_a, shape_b, strict=True)
    ):
        raise ValueError(
            "DynamicFeatureIntegration fuses H_a and H_b frame by frame, so they "
            f"need one shape (batch, time, features); received {shape_a} and "
            f"{shape_b}. Resample or pad the two views to one length."
        )
    return shape_a, shape_b
