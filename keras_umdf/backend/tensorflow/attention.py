"""TensorFlow's attention for large logits: heads in chunks, a hand-written gradient.

Computes the same values as the reference in
`keras_umdf.layers.scaled_dot_product_attention` (to float tolerance; the
dropout rate rounded, `keep_mask`). `keras_umdf.backend.ops.fast_attention`
chooses it; `tests/layers/test_fused_paths.py` compares it with the reference.
"""

import tensorflow as tf

from keras_umdf.layers.scaled_dot_product_attention import MASKED_LOGIT

# TensorFlow computes attentions whose logits hold at least this many elements per
# sample (heads x T x S) head by head; smaller ones gain nothing from it.
HEAD_BY_HEAD_MIN_LOGITS = 16384
# ... in chunks of at most this many heads (the largest divisor of the head count
# up to it): single heads make a long graph to trace, no chunks keep every
# head's logits at once; `python -m benchmarks.run --heads-per-chunk N` measures
# a value on the machine at hand.
HEADS_PER_CHUNK = 5


def head_by_head_pays(query, key) -> bool:
    """Whether this attention's logits are large enough to compute by chunks.

    Args:
        query: `(batch, T, heads, k)`.
        key: `(batch, S, heads, k)`.
    """
    heads, target, source = query.shape[-2], query.shape[1], key.shape[1]
    if None in (heads, target, source):
        return False
    return heads * target * source >= HEAD_BY_HEAD_MIN_LOGITS


def head_by_head(query, key, value, scale, present, dropout, heads_per_chunk=None):
    """The explicit attention, `heads_per_chunk` heads at a time.

    UMDF's heads are tiny (k = 4) and its logits large (batch x heads x T x S):
    smaller pieces keep each softmax and dropout pass in cache and let the
    cores work on several at once. The heads are moved before time once,
    `(batch, heads, time, k)`, so that every product of a chunk is one
    `tf.linalg.matmul` over the batch and head dimensions: no einsum (whose
    kernel transposes its operands again) and no transposed reads of the large
    logits.

    Args:
        query: `(batch, T, heads, k)`.
        key: `(batch, S, heads, k)`.
        value: `(batch, S, heads, k)`.
        scale: the factor of the logits, `1 / sqrt(k)`.
        present: None, or the bool presence mask of the keys, `(batch, S)` or
            `(batch, heads, S)`.
        dropout: None, or the active `keras.layers.Dropout` of the
            probabilities (its rate and seed generator are used).
        heads_per_chunk: at most this many heads per chunk; default
            `HEADS_PER_CHUNK`.

    Returns:
        `(batch, T, heads, k)`, in the dtype of `query`.
    """
    heads = query.shape[-2]
    heads_per_chunk = heads_per_chunk or HEADS_PER_CHUNK
    chunk = max(c for c in range(1, heads_per_chunk + 1) if heads % c == 0)
    chunks = heads // chunk

    def head_major(x):
        # (batch, time, heads, k) -> `chunks` pieces of (batch, chunk, time, k):
        # one transpose of the small projected tensor, then a split (whose
        # gradient is one concatenation) rather than slices.
        return tf.split(tf.transpose(x, (0, 2, 1, 3)), chunks, axis=1)

    queries = head_major(query * tf.cast(scale, query.dtype))
    keys, values = head_major(key), head_major(value)
    if present is None:
        masks = [None] * chunks
    elif len(present.shape) == 3:  # (batch, heads, S) -> (batch, chunk, 1, S)
        masks = [m[:, :, None, :] for m in tf.split(present, chunks, axis=1)]
    else:  # (batch, S) -> (batch, 1, 1, S), every head
        masks = [present[:, None, None, :]] * chunks
    attend = attention_chunk(present is not None, dropout)
    outputs = []
    for q, k, v, mask in zip(queries, keys, values, masks, strict=True):
        inputs = [] if mask is None else [mask]
        if dropout is not None:
            shape = (tf.shape(q)[0], chunk, q.shape[2], k.shape[2])
            inputs.append(keep_mask(shape, dropout))
        outputs.append(attend(q, k, v, *inputs))
    return tf.transpose(tf.concat(outputs, axis=1), (0, 2, 1, 3))


def keep_mask(shape, dropout):
    """Dropout's bool keep mask of `shape`.

    An entry is kept when a 16-bit random integer is at least
    `round(rate * 2**16)`, so each 32-bit draw of the generator serves two
    entries: half the random numbers of `keras.random.uniform(shape) >= rate`,
    whose masks were the largest cost of a training step after the matrix
    products (`benchmarks/profile_step.py`). The rate is thereby rounded to a
    multiple of 2**-16 (0.1 keeps 58,982 of 65,536: a rate of 0.100006); the
    seed comes from the `Dropout` layer's seed generator, as its own masks do.
    """
    threshold = min(round(float(dropout.rate) * 2**16), 2**16 - 1)
    seed = dropout.seed_generator.next()
    # int32 seeds, as Keras's own TensorFlow random ops use (and XLA needs).
    seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")
    *outer, source = shape
    pairs = (source + 1) // 2
    draws = tf.random.stateless_uniform(
        (*outer, pairs), seed=seed, minval=None, maxval=None, dtype=tf.uint32
    )
    halves = tf.reshape(tf.bitcast(draws, tf.uint16), (*outer, 2 * pairs))
    if 2 * pairs != source:
        halves = halves[..., :source]
    return halves >= tf.constant(threshold, tf.uint16)


def attention_chunk(masked: bool, dropout):
    """The attention of one chunk of heads, with a hand-written gradient.

    `q`, `k`, `v` are `(batch, heads, time, k)`; `mask` (when `masked`) a bool
    `(batch, 1 or heads, 1, S)`; `keep` (when `dropout` is given) the bool
    dropout mask `(batch, heads, T, S)`. Forward as the reference: logits
    (float32), masked logits, softmax, dropout of the probabilities (the kept
    ones scaled by 1 / (1 - rate), here after the product with V, which is the
    same), product with V. The gradient uses rowsum(dP * P) = rowsum(dO * O), as
    FlashAttention does, instead of the softmax's generic gradient, which saves
    passes over the large logits; the values are the same.

    Dropout is applied as products with the mask, not selects: TensorFlow's
    `SelectV2` with a broadcast zero is slower than a cast and a product. The
    gradient of the logits is `kept * dK - P * row`, which reuses `kept` (in
    float32; under mixed precision P * keep again) instead of masking dK (the
    same values, rounded in another order).

    The gradients of K and V contract the large (T, S) matrices over T. They are
    computed as (k, S) products, the small operand on the left, and transposed
    after: the same sums, but Eigen's CPU batched matmul (TensorFlow without
    oneDNN) runs the direct (S, k) form, which reads the large operand
    transposed, several times slower (`python -m benchmarks.profile_step`
    shows the share). oneDNN's kernels run the direct form a little faster
    than this one, a few per cent of a step: left as it is, so that both
    settings share one computation.

    Returns:
        `attend(q, k, v, *extra)`, where `extra` is `[mask]` when `masked`,
        then `[keep]` when `dropout` is given.
    """
    keep_scale = None if dropout is None else 1.0 / (1.0 - float(dropout.rate))

    def over_time(a, b):
        # (a^T b)^T for a (T, k) and b (T, S): (S, k), computed as (k, S).
        return tf.linalg.matrix_transpose(tf.linalg.matmul(a, b, transpose_a=True))

    @tf.custom_gradient
    def attend(q, k, v, *extra):
        mask = extra[0] if masked else None
        keep = extra[-1] if dropout is not None else None
        logits = tf.cast(tf.linalg.matmul(q, k, transpose_b=True), "float32")
        if mask is not None:
            logits = tf.where(mask, logits, MASKED_LOGIT)
        probabilities = tf.nn.softmax(logits, axis=-1)
        kept = tf.cast(probabilities, q.dtype)
        if keep is not None:
            kept = kept * tf.cast(keep, kept.dtype)
        output = tf.linalg.matmul(kept, v)
        if keep is not None:
            output = output * tf.cast(keep_scale, output.dtype)

        def grad(upstream):
            d_output = upstream
            if keep is not None:
                d_output = upstream * tf.cast(keep_scale, upstream.dtype)
            row = tf.reduce_sum(
                tf.cast(upstream, "float32") * tf.cast(output, "float32"),
                axis=-1,
                keepdims=True,
            )
            d_kept = tf.cast(tf.linalg.matmul(d_output, v, transpose_b=True), "float32")
            if keep is None:
                d_logits = probabilities * (d_kept - row)
            else:  # P * (keep * dK - row), with P * keep the saved `kept`.
                dropped = kept
                if kept.dtype != tf.float32:  # P * keep again, unrounded
                    dropped = probabilities * tf.cast(keep, "float32")
                d_logits = dropped * d_kept - probabilities * row
            if mask is not None:
                d_logits = tf.where(mask, d_logits, 0.0)
            d_logits = tf.cast(d_logits, q.dtype)
            d_q = tf.linalg.matmul(d_logits, k)
            d_k = over_time(q, d_logits)
            d_v = over_time(d_output, kept)
            return (d_q, d_k, d_v) + (None,) * len(extra)

        return output, grad

    return attend
