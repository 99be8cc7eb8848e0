"""Crossmodal attention (Eq. 7) with the paper's residual connection and layer norm."""

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.layers.scaled_dot_product_attention import scaled_dot_product_attention


@keras_umdf_export
class CrossmodalAttention(keras.layers.Layer):
    """Multi-head crossmodal attention from a source to a target sequence (Eq. 7).

    Computes `LN(X_t + CA(X_s, X_t))`, the paper's update `X_t = LN(X_t + X_{s->t})`,
    with

        CA(X_s, X_t) = softmax(Q K^T / sqrt(d_k)) V W_O,
        Q = X_t W_Q,  K = X_s W_K,  V = X_s W_V,

    per head, the heads concatenated and projected back to the target width by
    `W_O`. Queries come from the target, keys and values from the source, so the
    two may differ in length and width. With `source` equal to `target` this is
    post-LN self-attention.

    The scaled logits and the softmax are computed in float32 under any dtype
    policy; the layer norm's statistics are computed in float32 by
    `keras.layers.LayerNormalization`. The output has the compute dtype.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head's queries, keys and values (`d_k`). Defaults to
            `d // num_heads` for a target of width `d`, which must then be
            divisible by `num_heads`.
        dropout: dropout rate on the attention probabilities, in training only
            (assumed placement; the paper gives no dropout).
        use_bias: whether the query, key, value and output projections have biases.
        epsilon: epsilon of the layer norm.
        fused: compute faster where the result is the same to float tolerance:
            self-attention (`source` is `target`) projects Q, K and V with one
            matrix product, and without a mask or active dropout in float32 the
            attention runs in the backend's fused kernel
            (`keras.ops.dot_product_attention`). False computes every step on
            its own (the reference path). Not a modelling choice; the weights
            are the same either way.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        target: `(batch, T_t, d)`, the modality that is updated (queries).
        source: `(batch, T_s, d_s)`, the modality attended to (keys and values).
        source_mask: optional `(batch, T_s)` presence mask of the source frames,
            bool or 0/1 float, True/1 where the frame is present. Missing frames
            receive no attention. A row whose source frames are *all* missing
            gets an attention output of exactly 0, so its output is
            `LN(target)` (the residual path), with finite values and gradients.
            Taken from the source's Keras mask when not given. Without a mask
            every frame is attended to, as in the paper, where missing frames
            are zero vectors (design decision 5, docs/design-decisions.md offers both).
        training: whether dropout is active.

    Returns:
        `(batch, T_t, d)`. The target's Keras mask, if any, is passed on.

    Example:

    ```python
    attention = keras_umdf.layers.CrossmodalAttention(num_heads=2)
    text = np.random.rand(4, 50, 8).astype("float32")
    audio = np.random.rand(4, 375, 8).astype("float32")
    audio_present = np.random.rand(4, 375) > 0.2
    text_from_audio = attention(text, audio, source_mask=audio_present)  # (4, 50, 8)
    ```
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        epsilon: float = 1e-5,
        fused: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        num_heads = check_int("num_heads", num_heads)
        key_dim = check_int("key_dim", key_dim, none_means="width // num_heads")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); received {dropout!r}.")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.epsilon = epsilon
        self.fused = bool(fused)
        self.supports_masking = True

    def build(self, target_shape, source_shape=None):
        target_shape = tuple(target_shape)
        source_shape = target_shape if source_shape is None else tuple(source_shape)
        for role, shape in (("target", target_shape), ("source", source_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"CrossmodalAttention expects the {role} as (batch, time, "
                    f"features) with a known feature size; received shape {shape}."
                )
        width, source_width = target_shape[-1], source_shape[-1]
        head_dim = self.key_dim
        if head_dim is None:
            if width % self.num_heads:
                raise ValueError(
                    f"The target width {width} (target shape {target_shape}) is not "
                    f"divisible by num_heads={self.num_heads}; choose num_heads that "
                    "divides it or pass key_dim explicitly."
                )
            head_dim = width // self.num_heads
        self._width = width
        self._source_width = source_width
        self._head_dim = head_dim
        projected = self.num_heads * head_dim

        def projection(units, name):
            return keras.layers.Dense(
                units, use_bias=self.use_bias, dtype=self.dtype_policy, name=name
            )

        # Dense layers (not EinsumDense) because they pass Keras masks through
        # silently; the heads are split and merged by free reshapes.
        self.query_dense = projection(projected, "query")
        self.query_dense.build(target_shape)
        self.key_dense = projection(projected, "key")
        self.key_dense.build(source_shape)
        self.value_dense = projection(projected, "value")
        self.value_dense.build(source_shape)
        self.output_dense = projection(width, "output")
        self.output_dense.build(target_shape[:-1] + (projected,))
        self.attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="attention_dropout"
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=self.dtype_policy, name="layer_norm"
        )
        self.layer_norm.build(target_shape)

    def call(self, target, source, source_mask=None, training=None):
        self._check_call(target, source, source_mask)
        if self.fused and source is target:
            query, key, value = self._project_self(target)
        else:
            query = self.query_dense(target)
            key = self.key_dense(source)
            value = self.value_dense(source)
        heads = (self.num_heads, self._head_dim)
        query = ops.reshape(query, ops.shape(target)[:-1] + heads)
        key = ops.reshape(key, ops.shape(source)[:-1] + heads)
        value = ops.reshape(value, ops.shape(source)[:-1] + heads)
        present = None if source_mask is None else ops.cast(source_mask, "bool")
        attended = scaled_dot_product_attention(
            query,
            key,
            value,
            mask=present,
            dropout=self.attention_dropout,
            training=training,
            fused=self.fused,
        )
        attended = ops.reshape(attended, ops.shape(target)[:-1] + (-1,))
        update = self.output_dense(attended)
        if present is not None:
            # Rows without any present source frame: attention output exactly 0.
            has_source = ops.cast(ops.any(present, axis=-1), update.dtype)
            update = update * ops.reshape(has_source, (-1, 1, 1))
        return self.layer_norm(target + update)

    def _project_self(self, x):
        """Q, K and V of a self-attention as one matrix product."""
        denses = (self.query_dense, self.key_dense, self.value_dense)
        kernel = ops.concatenate([dense.kernel for dense in denses], axis=1)
        projected = ops.matmul(x, kernel)
        if self.use_bias:
            projected = projected + ops.concatenate(
                [dense.bias for dense in denses], axis=0
            )
        return ops.split(projected, 3, axis=-1)

    def _check_call(self, target, source, source_mask) -> None:
        target_shape, source_shape = tuple(target.shape), tuple(source.shape)
        if len(target_shape) != 3 or len(source_shape) != 3:
            raise ValueError(
                "CrossmodalAttention expects target and source as (batch, time, "
                f"features); received target {target_shape} and source {source_shape}."
            )
        if target_shape[-1] != self._width or source_shape[-1] != self._source_width:
            raise ValueError(
                f"CrossmodalAttention '{self.name}' was built for target width "
                f"{self._width} and source width {self._source_width}; received "
                f"target {target_shape} and source {source_shape}. Use a new layer "
                "for other widths."
            )
        if source_mask is not None:
            mask_shape = tuple(source_mask.shape)
            if len(mask_shape) != 2 or not _compatible(mask_shape, source_shape[:2]):
                raise ValueError(
                    "source_mask must have shape (batch, T_s) = "
                    f"{source_shape[:2]} to match the source {source_shape}; "
                    f"received {mask_shape}."
                )

    def compute_output_shape(self, target_shape, source_shape=None):
        return tuple(target_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "epsilon": self.epsilon,
                "fused": self.fused,
            }
        )
        return config


def _compatible(shape, expected) -> bool:
    """Whether two static shapes agree wherever both sizes are known."""
    return all(
        a is None or b is None or a == b for a, b in zip(shape, expected, strict=True)
    )
