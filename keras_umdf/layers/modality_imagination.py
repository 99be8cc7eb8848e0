"""Modality Imagination Autoencoder (SDUMC's MIA): imagine a missing modality."""

from __future__ import annotations

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int


@keras_umdf_export
class ModalityImagination(keras.layers.Layer):
    """Reconstructs one modality's representation from the others' (SDUMC's MIA).

    A residual autoencoder on the feature axis. With sources `x_1..x_S` (e.g. the
    audio and vision representations) and an optional `residual` `r` (e.g. the
    representation of a pseudo text from ASR, the thing being corrected):

        h_0 = Dense(d) o ReLU o Dense(d) ([x_1, ..., x_S, r])     # transition
        h_b = h_{b-1} + Decoder_b(Encoder_b(h_{b-1})),  b = 1..num_blocks
        output = r + h_B        (h_B alone without a residual)

    with `d = target_dim`, `[.]` the concatenation on the feature axis,
    `Encoder_b` = Dense layers of widths `hidden_dims`, each followed by a
    LeakyReLU (the last one gives the code), and `Decoder_b` the mirror image back
    to `d` (ReLU between its layers, linear output). It is trained with a reconstruction loss
    against the real representation where that is present
    (`reconstruction_loss`), and fills the missing modality's representation at
    inference. In `keras_umdf.SDUMC` it imagines the text representation from
    audio, vision and the pseudo text.

    SDUMC's public code (WarmCongee/SDUMC) uses one block with a 128-wide code
    over 256-wide utterance vectors and a residual on the (pseudo) text;
    here every width is an argument and the layer works on vectors (batch, d)
    and on sequences (batch, T, d) alike (frame by frame; the sources and the
    residual must then share T).

    Args:
        target_dim: width d of the imagined representation (and of `residual`).
        hidden_dims: widths of the encoder's Dense layers; the last is the code
            width. Default: one layer of `max(1, target_dim // 2)`.
        num_blocks: number of residual autoencoder blocks (SDUMC: 1).
        dropout: dropout after every hidden activation, in training only
            (SDUMC: 0.3; default 0.0).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        sources: a list of one or more tensors (batch, ..., d_s), the present
            modalities' representations (their widths may differ).
        residual: optional (batch, ..., target_dim) representation to correct.
        training: whether dropout is active.

    Returns:
        (batch, ..., target_dim), in the layer's compute dtype.

    Example:

    ```python
    mia = keras_umdf.layers.ModalityImagination(target_dim=40)
    imagined_text = mia([audio_repr, vision_repr], residual=pseudo_text_repr)
    loss = mia.reconstruction_loss(real_text_repr, imagined_text)
    ```
    """

    def __init__(
        self,
        target_dim: int,
        hidden_dims: tuple[int, ...] | list[int] | None = None,
        num_blocks: int = 1,
        dropout: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        target_dim = check_int("target_dim", target_dim)
        if hidden_dims is None:
            hidden_dims = (max(1, target_dim // 2),)
        if isinstance(hidden_dims, int) or not hidden_dims:
            raise ValueError(
                "hidden_dims must be a non-empty list of positive ints (the encoder's "
                f"widths, the last one the code); received {hidden_dims!r}."
            )
        hidden_dims = tuple(
            check_int("every entry of hidden_dims", width) for width in hidden_dims
        )
        num_blocks = check_int("num_blocks", num_blocks)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); received {dropout!r}.")
        self.target_dim = target_dim
        self.hidden_dims = hidden_dims
        self.num_blocks = num_blocks
        self.dropout = float(dropout)

        policy = self.dtype_policy
        d = self.target_dim
        self.transition = [
            keras.layers.Dense(d, activation="relu", dtype=policy, name="transition_0"),
            keras.layers.Dense(d, dtype=policy, name="transition_1"),
        ]
        self.encoders = []
        self.decoders = []
        widths = self.hidden_dims
        for b in range(self.num_blocks):
            self.encoders.append(
                [
                    keras.layers.Dense(w, dtype=policy, name=f"encoder_{b}_{i}")
                    for i, w in enumerate(widths)
                ]
            )
            back = list(reversed(widths[:-1])) + [d]
            self.decoders.append(
                [
                    keras.layers.Dense(w, dtype=policy, name=f"decoder_{b}_{i}")
                    for i, w in enumerate(back)
                ]
            )
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy)

    def build(self, sources_shape, residual_shape=None):
        shapes = _as_shape_list(sources_shape)
        widths = []
        for shape in shapes:
            if shape[-1] is None:
                raise ValueError(
                    "ModalityImagination needs sources with a known feature width; "
                    f"received shapes {shapes}."
                )
            widths.append(int(shape[-1]))
        if residual_shape is not None:
            residual_shape = tuple(residual_shape)
            if residual_shape[-1] != self.target_dim:
                raise ValueError(
                    f"ModalityImagination: the residual has width "
                    f"{residual_shape[-1]} but target_dim is {self.target_dim}; "
                    "pass a residual of width target_dim (e.g. project it first)."
                )
            widths.append(self.target_dim)
        self._input_width = sum(widths)
        self._has_residual = residual_shape is not None
        leading = tuple(shapes[0][:-1])
        self.transition[0].build((*leading, self._input_width))
        self.transition[1].build((*leading, self.target_dim))
        for encoder, decoder in zip(self.encoders, self.decoders, strict=True):
            width = self.target_dim
            for layer in encoder + decoder:
                layer.build((*leading, width))
                width = layer.units
        self.built = True

    def call(self, sources, residual=None, training=None):
        sources = list(sources) if isinstance(sources, (list, tuple)) else [sources]
        if not sources:
            raise ValueError(
                "ModalityImagination needs at least one source representation."
            )
        if self.built and self._has_residual != (residual is not None):
            raise ValueError(
                "ModalityImagination was built "
                + ("with" if self._has_residual else "without")
                + " a residual; call it the same way every time (residual="
                + ("<tensor>" if self._has_residual else "None")
                + ")."
            )
        parts = [ops.cast(x, self.compute_dtype) for x in sources]
        if residual is not None:
            residual = ops.cast(residual, self.compute_dtype)
            parts.append(residual)
        width = sum(int(x.shape[-1]) for x in parts)
        if width != self._input_width:
            raise ValueError(
                f"ModalityImagination was built for inputs of total width "
                f"{self._input_width}; received widths "
                f"{[int(x.shape[-1]) for x in parts]}."
            )
        x = ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        h = self.transition[1](self._drop(self.transition[0](x), training))
        for encoder, decoder in zip(self.encoders, self.decoders, strict=True):
            code = h
            for layer in encoder:
                code = self._drop(ops.leaky_relu(layer(code)), training)
            out = code
            for i, layer in enumerate(decoder):
                if i > 0:
                    out = self._drop(ops.relu(out), training)
                out = layer(out)
            h = h + out
        return h if residual is None else residual + h

    def _drop(self, x, training):
        return self.dropout_layer(x, training=training) if self.dropout else x

    def reconstruction_loss(self, target, imagined, mask=None):
        """Mean squared error of `imagined` against the real `target`, in float32.

        No gradient flows into `target` (the real representation is the teacher);
        positions where the real modality is absent are left out.

        Args:
            target: (batch, ..., target_dim) real representation.
            imagined: the layer's output, same shape.
            mask: optional (batch,) or (batch, T) with 1 where the real
                representation is present.

        Returns:
            A float32 scalar; 0 when nothing is present.
        """
        target = ops.stop_gradient(ops.cast(target, "float32"))
        imagined = ops.cast(imagined, "float32")
        if tuple(target.shape[1:]) != tuple(imagined.shape[1:]):
            raise ValueError(
                "reconstruction_loss needs target and imagined of the same shape; "
                f"received {tuple(target.shape)} and {tuple(imagined.shape)}."
            )
        error = ops.mean(ops.square(imagined - target), axis=-1)
        if mask is None:
            return ops.mean(error)
        mask = ops.cast(mask, "float32")
        while len(mask.shape) < len(error.shape):
            mask = mask[..., None]
        mask = ops.broadcast_to(mask, ops.shape(error))
        return ops.sum(error * mask) / ops.maximum(ops.sum(mask), 1.0)

    def compute_output_shape(self, sources_shape, residual_shape=None):
        return (*tuple(_as_shape_list(sources_shape)[0][:-1]), self.target_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "target_dim": self.target_dim,
                "hidden_dims": list(self.hidden_dims),
                "num_blocks": self.num_blocks,
                "dropout": self.dropout,
            }
        )
        return config


def _as_shape_list(shapes) -> list[tuple]:
    """A list of shapes from one shape or a list of shapes."""
    if (
        isinstance(shapes, (list, tuple))
        and shapes
        and isinstance(shapes[0], (list, tuple))
    ):
        return [tuple(s) for s in shapes]
    return [tuple(shapes)]
