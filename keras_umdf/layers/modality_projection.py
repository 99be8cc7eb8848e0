"""The per-modality front end: a temporal convolution to the common width d."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int


@keras_umdf_export
class ModalityProjection(keras.layers.Layer):
    """Projects one modality's features to the model width with a 1D convolution.

    The first step of the paper's per-modality front end, `X^_m = W_3x3(X'_m)`: a
    1D convolution with `kernel_size` taps over time, "same" padding (so the length
    is kept) and `hidden_dim` filters, taking `(batch, T_m, d_m)` to
    `(batch, T_m, d)`. Each modality has its own projection. The paper's "kernel
    size 3 x 3" is read as 3 taps over time across all `d_m` input features.

    Args:
        hidden_dim: the common width `d` (40 in the paper).
        kernel_size: taps over time (3 in the paper).
        use_bias: whether the convolution has a bias. Assumed off (the paper is
            silent), as in the MulT-style front ends the paper builds on.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T_m, d_m)`; missing frames are zero vectors.

    Returns:
        `(batch, T_m, hidden_dim)`. A Keras mask on the input is passed on
        unchanged: output frame `t` stands for input frame `t`, although the
        convolution lets a missing frame see its present neighbours.

    Example:

    ```python
    project_audio = keras_umdf.layers.ModalityProjection(hidden_dim=40)
    audio = np.random.rand(4, 375, 74).astype("float32")
    project_audio(audio)  # (4, 375, 40)
    ```
    """

    def __init__(
        self,
        hidden_dim: int,
        kernel_size: int = 3,
        use_bias: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dim = check_int("hidden_dim", hidden_dim)
        self.kernel_size = check_int("kernel_size", kernel_size)
        self.use_bias = use_bias
        self.supports_masking = True

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                "ModalityProjection expects (batch, time, features) with a known "
                f"feature size; received shape {input_shape}."
            )
        self._input_width = input_shape[-1]
        # Own weights rather than a Conv1D sublayer: Conv1D does not accept Keras
        # masks, and this layer passes them on.
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self._input_width, self.hidden_dim),
            initializer="glorot_uniform",
            name="kernel",
        )
        self.bias = (
            self.add_weight(shape=(self.hidden_dim,), initializer="zeros", name="bias")
            if self.use_bias
            else None
        )

    def call(self, inputs):
        shape = tuple(inputs.shape)
        if len(shape) != 3 or shape[-1] != self._input_width:
            raise ValueError(
                f"ModalityProjection '{self.name}' was built for features of width "
                f"{self._input_width}, (batch, time, {self._input_width}); received "
                f"shape {shape}. Each modality needs its own projection."
            )
        outputs = ops.conv(inputs, self.kernel, strides=1, padding="same")
        if self.bias is not None:
            outputs = outputs + self.bias
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "kernel_size": self.kernel_size,
                "use_bias": self.use_bias,
            }
        )
        return config
