"""The multi-head attention kernel shared by the attention layers."""

from keras import ops

from keras_umdf.backend.ops import fast_attention

# Added (in float32) to the logits of missing key frames. Large enough that their
# softmax weight underflows to exactly 0 whenever one key of the row is present, and
# finite, so an all-missing row gives a uniform softmax instead of NaN.
MASKED_LOGIT = -1e9


def scaled_dot_product_attention(
    query,
    key,
    value,
    *,
    mask=None,
    dropout=None,
    training=None,
    fused: bool = True,
):
    """`softmax(Q K^T / sqrt(k)) V` for every head, the softmax in float32.

    Not a layer: the attention layers call it with their projected heads.

    Args:
        query: `(batch, T, heads, k)`.
        key: `(batch, S, heads, k)`.
        value: `(batch, S, heads, k)`.
        mask: optional bool presence mask of the keys, `(batch, S)` for every
            head or `(batch, heads, S)` per head; False keys get no weight. A row
            whose keys are all missing gets a uniform softmax (finite); callers
            zero such rows.
        dropout: optional `keras.layers.Dropout` applied to the probabilities.
        training: whether `dropout` is active.
        fused: compute the same values (to float tolerance) with the backend's
            fastest kernel where it has one (`keras_umdf.backend.ops.
            fast_attention`: TensorFlow's head-by-head attention for large
            logits, whose dropout rate is rounded to a multiple of 2**-16;
            `keras.ops.dot_product_attention` without mask or active dropout
            in float32). False computes all heads at once, explicitly, as
            below (the reference path).

    Returns:
        `(batch, T, heads, k)`, in the dtype of `query`.
    """
    scale = 1.0 / float(query.shape[-1]) ** 0.5
    dropout_active = (
        dropout is not None and bool(training) and float(dropout.rate) > 0.0
    )
    present = None if mask is None else ops.cast(mask, "bool")
    if fused:
        attended = fast_attention(
            query,
            key,
            value,
            scale=scale,
            mask=present,
            dropout=dropout if dropout_active else None,
        )
        if attended is not None:
            return attended
    query = query * ops.cast(scale, query.dtype)
    # (batch, heads, T, S) scaled logits; softmax in float32.
    logits = ops.cast(ops.einsum("bthk,bshk->bhts", query, key), "float32")
    if present is not None:
        axes = (1, 2) if len(present.shape) == 2 else (2,)
        logits = ops.where(ops.expand_dims(present, axes), logits, MASKED_LOGIT)
    probabilities = ops.cast(ops.softmax(logits, axis=-1), query.dtype)
    if dropout_active:
        probabilities = dropout(probabilities, training=training)
    return ops.einsum("bhts,bshk->bthk", probabilities, value)
