"""One post-LN transformer encoder layer, built on CrossmodalAttention."""

import keras

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.layers.crossmodal_attention import CrossmodalAttention


@keras_umdf_export
class TransformerEncoder(keras.layers.Layer):
    """A post-layer-norm transformer encoder layer (Vaswani et al. 2017).

    The encoders after MCIM (giving `H_k`) and after DFIM (giving `H-bar`):

        x = LN(x + SelfAttention(x))       # CrossmodalAttention(x, x)
        y = LN(x + FFN(x)),  FFN = Dense(intermediate_dim, activation) -> Dense(D)

    The self-attention is a `CrossmodalAttention` with the sequence as both target
    and source, so its softmax runs in float32 and fully masked rows stay finite.
    Depth, heads and FFN width are not given in the paper; assumed (design
    decision 7, docs/design-decisions.md): one layer per encoder, FFN width
    4 x D. Stack layers for more depth.

    Args:
        num_heads: attention heads; must divide the input width `D`.
        intermediate_dim: FFN hidden width; defaults to `4 * D`.
        dropout: dropout rate on the attention probabilities and on the FFN output,
            in training only.
        activation: the FFN's hidden activation, a Keras activation name.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, D)`.
        mask: optional `(batch, T)` presence mask, bool or 0/1 float, True/1 where
            the frame is present; taken from the input's Keras mask when not
            given. Missing frames are not attended to (they are still updated as
            queries). A row with no present frame gets a zero attention output
            and is then `LN(x + FFN(x))` with `x = LN(inputs)`: finite.
        training: whether dropout is active.

    Returns:
        `(batch, T, D)`; the input's mask is passed on.

    Example:

    ```python
    encoder = keras_umdf.layers.TransformerEncoder(num_heads=10)
    joint = np.random.rand(4, 50, 120).astype("float32")
    encoder(joint)  # (4, 50, 120)
    ```
    """

    def __init__(
        self,
        num_heads: int,
        intermediate_dim: int | None = None,
        dropout: float = 0.0,
        activation: str = "relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        num_heads = check_int("num_heads", num_heads)
        intermediate_dim = check_int(
            "intermediate_dim", intermediate_dim, none_means="4 x the input width"
        )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); received {dropout!r}.")
        keras.activations.get(activation)  # Fails early on an unknown name.
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.supports_masking = True

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                "TransformerEncoder expects (batch, time, features) with a known "
                f"feature size; received shape {input_shape}."
            )
        width = input_shape[-1]
        if width % self.num_heads:
            raise ValueError(
                f"TransformerEncoder: the input width {width} (shape {input_shape}) "
                f"is not divisible by num_heads={self.num_heads}; choose a number "
                "of heads that divides it."
            )
        self._width = width
        hidden = self.intermediate_dim or 4 * width
        self.self_attention = CrossmodalAttention(
            self.num_heads,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="self_attention",
        )
        self.self_attention.build(input_shape, input_shape)
        self.intermediate_dense = keras.layers.Dense(
            hidden,
            activation=self.activation,
            dtype=self.dtype_policy,
            name="intermediate",
        )
        self.intermediate_dense.build(input_shape)
        self.output_dense = keras.layers.Dense(
            width, dtype=self.dtype_policy, name="output"
        )
        self.output_dense.build(input_shape[:-1] + (hidden,))
        self.output_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="output_dropout"
        )
        self.output_layer_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, dtype=self.dtype_policy, name="output_layer_norm"
        )
        self.output_layer_norm.build(input_shape)

    def call(self, inputs, mask=None, training=None):
        shape = tuple(inputs.shape)
        if len(shape) != 3 or shape[-1] != self._width:
            raise ValueError(
                f"TransformerEncoder '{self.name}' was built for (batch, time, "
                f"{self._width}); received shape {shape}."
            )
        x = self.self_attention(inputs, inputs, source_mask=mask, training=training)
        update = self.output_dense(self.intermediate_dense(x))
        update = self.output_dropout(update, training=training)
        return self.output_layer_norm(x + update)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": self.activation,
            }
        )
        return config
