"""Sinusoidal positional embedding (Vaswani et al. 2017), added to each modality."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export


@keras_umdf_export
class PositionalEmbedding(keras.layers.Layer):
    """Adds the sinusoidal positional embedding of Vaswani et al. to a sequence.

    The second step of the paper's per-modality front end: `Z_m = X^_m + PE`, with

        PE[t, 2i]     = sin(t / max_wavelength^(2i / d)),
        PE[t, 2i + 1] = cos(t / max_wavelength^(2i / d)),

    for frame `t = 0, 1, ..., T - 1` and feature `2i` or `2i + 1` of `d`; an odd `d`
    ends with a sine. `PE` is computed on the fly in float32 for the length of the
    input (any `T`), then cast to the compute dtype and added. No weights.

    Args:
        max_wavelength: the base of the geometric progression of wavelengths.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, d)`.

    Returns:
        `(batch, T, d)`: `inputs + PE`. Every frame gets its embedding, present or
        missing (the paper zero-fills missing frames before this layer); a Keras
        mask on the input is passed on.

    Example:

    ```python
    embed = keras_umdf.layers.PositionalEmbedding()
    z_text = embed(np.zeros((4, 50, 40), "float32"))  # (4, 50, 40): PE itself
    ```
    """

    def __init__(self, max_wavelength: float = 10000, **kwargs):
        super().__init__(**kwargs)
        if not max_wavelength > 0:
            raise ValueError(
                f"max_wavelength must be positive; received {max_wavelength!r}."
            )
        self.max_wavelength = max_wavelength
        self.supports_masking = True

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                "PositionalEmbedding expects (batch, time, features) with a known "
                f"feature size; received shape {input_shape}."
            )
        self._width = input_shape[-1]

    def call(self, inputs):
        shape = tuple(inputs.shape)
        if len(shape) != 3 or shape[-1] != self._width:
            raise ValueError(
                f"PositionalEmbedding '{self.name}' was built for (batch, time, "
                f"{self._width}); received shape {shape}. Use a new layer for "
                "another feature size."
            )
        width = self._width
        positions = ops.cast(ops.arange(ops.shape(inputs)[1]), "float32")
        features = ops.arange(width)
        is_odd = ops.mod(features, 2)
        # 2i for features 2i and 2i + 1.
        even_index = ops.cast(features - is_odd, "float32")
        inverse_wavelengths = ops.power(
            ops.convert_to_tensor(float(self.max_wavelength), "float32"),
            -even_index / float(width),
        )
        angles = ops.expand_dims(positions, 1) * ops.expand_dims(inverse_wavelengths, 0)
        embedding = ops.where(ops.equal(is_odd, 0), ops.sin(angles), ops.cos(angles))
        return inputs + ops.cast(embedding, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
