"""TensorFlow's attention: heads in chunks sized to the cache, a hand-written
gradient that recomputes the attention probabilities.

Computes the same values as the reference in
`keras_umdf.layers.scaled_dot_product_attention` (to float tolerance; the
dropout rate rounded, `keep_mask`). `keras_umdf.backend.ops.fast_attention`
chooses it; `tests/layers/test_fused_paths.py` compares it with the reference.
"""

import tensorflow as tf

from keras_umdf.backend.ops import heads_in_cache
from keras_umdf.backend.ops import keep_threshold
from keras_umdf.backend.ops import largest_divisor
from keras_umdf.layers.scaled_dot_product_attention import MASKED_LOGIT

CACHE_SHARE = 8
"""A chunk's float32 logits take at most this share (1/8) of the last-level
cache: the chunk's logits, its probabilities and the products that read them
pass from op to op through that cache, and the executor runs another chunk
beside it."""

HEADS_PER_CHUNK = None
"""None: chunks from `chunk_heads`. A number sets them for every attention
(`python -m benchmarks.run --heads-per-chunk N` measures a value)."""

ASSUMED_BATCH = 32
"""The batch (clips x views) a chunk is sized for when the traced batch has no
static size."""


def fast_attention(query, key, value, *, scale, mask=None, dropout=None):
    """`head_by_head`, where the heads and lengths have static sizes, else None.

    It is used at every size: besides its speed, its gradient recomputes the
    attention probabilities rather than keep them (`head_by_head`).
    """
    heads, target, source = query.shape[-2], query.shape[1], key.shape[1]
    if None in (heads, target, source):
        return None
    return head_by_head(query, key, value, scale, mask, dropout)


def chunk_heads(batch, heads: int, target: int, source: int) -> int:
    """How many heads `head_by_head` computes at a time, from the shapes and
    the machine's cache.

    The largest divisor of `heads` whose float32 logits for the batch,
    `batch x chunk x T x S x 4` bytes, fit in `1 / CACHE_SHARE` of the
    last-level cache (`keras_umdf.backend.ops.heads_in_cache`); one head where a single
    head's do not. Measured on a 2-core AMD EPYC (32 MiB reported, so 4 MiB per
    chunk) with the attention's forward and backward pass alone: at 32 clips
    of MCIM's coarse attention (30 heads, 50 x 150) chunks of 2-5 heads ran
    within 5% of each other and 10-25% faster than one chunk of all heads; at
    256 clips single heads were the fastest. The chunks change the speed
    only: the values do not depend on them (`head_by_head`).

    Args:
        batch: the static batch size, or None (then `ASSUMED_BATCH`).
        heads: the head count.
        target: T, the query length.
        source: S, the key length.
    """
    return heads_in_cache(batch or ASSUMED_BATCH, heads, target, source, CACHE_SHARE)


def head_by_head(query, key, value, scale, present, dropout, heads_per_chunk=None):
    """The explicit attention, `heads_per_chunk` heads at a time, with a
    hand-written gradient that keeps only its inputs and output.

    UMDF's heads are tiny (k = 4) and its logits large (batch x heads x T x S):
    smaller pieces keep each softmax and dropout pass in cache and let the
    cores work on several at once. The heads are moved before time once,
    `(batch, heads, time, k)`, so that every product of a chunk is one
    `tf.linalg.matmul` over the batch and head dimensions: no einsum (whose
    kernel transposes its operands again) and no transposed reads of the large
    logits.

    The gradient recomputes the logits, their softmax and the dropout mask
    (from its seed) instead of keeping them from the forward pass: the
    probabilities are batch x heads x T x S floats per attention, nearly all
    of the activations a training step would keep (`python -m
    benchmarks.profile_memory`), while recomputing them costs a small (T, k)
    by (k, S) product and a softmax per chunk, and one more draw of the mask.
    The mask is drawn for all heads at once and split, so the values do not
    depend on the chunks.

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
            `HEADS_PER_CHUNK` where set, else `chunk_heads` of these shapes on
            this machine.

    Returns:
        `(batch, T, heads, k)`, in the dtype of `query`.
    """
    heads = query.shape[-2]
    heads_per_chunk = (
        heads_per_chunk
        or HEADS_PER_CHUNK
        or chunk_heads(query.shape[0], heads, query.shape[1], key.shape[1])
    )
    chunk = largest_divisor(heads, heads_per_chunk)
    chunks = heads // chunk

    def head_major(x):
        # (batch, time, heads, k) -> `chunks` pieces of (batch, chunk, time, k):
        # one transpose of the small projected tensor, then a split.
        return tf.split(tf.transpose(x, (0, 2, 1, 3)), chunks, axis=1)

    def time_major(pieces):
        # The inverse of `head_major`.
        return tf.transpose(tf.concat(pieces, axis=1), (0, 2, 1, 3))

    if present is None:
        masks = [None] * chunks
    elif len(present.shape) == 3:  # (batch, heads, S) -> (batch, chunk, 1, S)
        masks = [m[:, :, None, :] for m in tf.split(present, chunks, axis=1)]
    else:  # (batch, S) -> (batch, 1, 1, S), every head
        masks = [present[:, None, None, :]] * chunks
    seed = None if dropout is None else dropout_seed(dropout)
    threshold = None if dropout is None else keep_threshold(dropout.rate)
    keep_scale = None if dropout is None else 1.0 / (1.0 - float(dropout.rate))

    def keeps():
        if dropout is None:
            return [None] * chunks
        shape = (tf.shape(query)[0], heads, query.shape[1], key.shape[1])
        return tf.split(keep_mask(shape, threshold, seed), chunks, axis=1)

    @tf.custom_gradient
    def attend(query, key, value):
        queries = head_major(query * tf.cast(scale, query.dtype))
        keys, values = head_major(key), head_major(value)
        outputs = []
        for q, k, v, mask, keep in zip(
            queries, keys, values, masks, keeps(), strict=True
        ):
            kept = dropped(probabilities_of(q, k, mask), keep, q.dtype)
            outputs.append(tf.linalg.matmul(kept, v))
        output = time_major(outputs)
        if keep_scale is not None:
            output = output * tf.cast(keep_scale, output.dtype)

        def grad(upstream):
            # Everything is recomputed after the upstream gradient exists: else
            # TensorFlow's executor, which runs an op once its inputs exist,
            # would recompute it during the forward pass and hold it until now.
            with tf.control_dependencies([upstream]):
                queries = head_major(query * tf.cast(scale, query.dtype))
                keys, values = head_major(key), head_major(value)
                recomputed_keeps = keeps()
            d_output = upstream
            if keep_scale is not None:
                d_output = upstream * tf.cast(keep_scale, upstream.dtype)
            row = tf.reduce_sum(
                tf.cast(upstream, "float32") * tf.cast(output, "float32"),
                axis=-1,
                keepdims=True,
            )
            d_outputs, rows = head_major(d_output), head_major(row)
            d_queries, d_keys, d_values = [], [], []
            for q, k, v, mask, keep, d_out, row_sum in zip(
                queries,
                keys,
                values,
                masks,
                recomputed_keeps,
                d_outputs,
                rows,
                strict=True,
            ):
                d_q, d_k, d_v = chunk_gradient(q, k, v, mask, keep, d_out, row_sum)
                d_queries.append(d_q)
                d_keys.append(d_k)
                d_values.append(d_v)
            d_query = time_major(d_queries) * tf.cast(scale, query.dtype)
            return d_query, time_major(d_keys), time_major(d_values)

        return output, grad

    return attend(query, key, value)


def chunk_gradient(q, k, v, mask, keep, d_output, row):
    """The gradients of one chunk's attention, from its recomputed softmax.

    `q` (scaled), `k`, `v` and `d_output` (the gradient of the product with V,
    the dropout's 1 / (1 - rate) applied) are `(batch, heads, time, k)`;
    `mask` None or bool `(batch, 1 or heads, 1, S)`; `keep` None or the bool
    keep mask `(batch, heads, T, S)`; `row` = rowsum(dO * O) of the attention's
    output, `(batch, heads, T, 1)` in float32.

    It uses rowsum(dP * P) = rowsum(dO * O), as FlashAttention does, instead
    of the softmax's generic gradient, which saves passes over the large
    logits; the values are the same. Dropout is applied as products with the
    mask, not selects: TensorFlow's `SelectV2` with a broadcast zero is slower
    than a cast and a product; the gradient of the logits is
    `P * (keep * dK - row)` (the same values as masking dK, rounded in
    another order).

    The gradients of K and V contract the large (T, S) matrices over T. They are
    computed as (k, S) products, the small operand on the left, and transposed
    after: the same sums, but Eigen's CPU batched matmul (TensorFlow without
    oneDNN) runs the direct (S, k) form, which reads the large operand
    transposed, several times slower (`python -m benchmarks.profile_step`
    shows the share). oneDNN's kernels run the direct form a little faster
    than this one, a few per cent of a step: left as it is, so that both
    settings share one computation.

    Returns:
        `(d_q, d_k, d_v)`; `d_q` with respect to the scaled `q`.
    """

    def over_time(a, b):
        # (a^T b)^T for a (T, k) and b (T, S): (S, k), computed as (k, S).
        return tf.linalg.matrix_transpose(tf.linalg.matmul(a, b, transpose_a=True))

    probabilities = probabilities_of(q, k, mask)
    kept = dropped(probabilities, keep, q.dtype)
    d_kept = tf.cast(tf.linalg.matmul(d_output, v, transpose_b=True), "float32")
    if keep is None:
        d_logits = probabilities * (d_kept - row)
    else:
        d_logits = probabilities * (tf.cast(keep, "float32") * d_kept - row)
    if mask is not None:
        d_logits = tf.where(mask, d_logits, 0.0)
    d_logits = tf.cast(d_logits, q.dtype)
    return (
        tf.linalg.matmul(d_logits, k),
        over_time(q, d_logits),
        over_time(d_output, kept),
    )


def probabilities_of(q, k, mask):
    """The float32 softmax of the logits `q k^T` of a chunk, `(batch, heads,
    T, S)`; keys where the bool `mask` is False get `MASKED_LOGIT`."""
    logits = tf.cast(tf.linalg.matmul(q, k, transpose_b=True), "float32")
    if mask is not None:
        logits = tf.where(mask, logits, MASKED_LOGIT)
    return tf.nn.softmax(logits, axis=-1)


def dropped(probabilities, keep, dtype):
    """`probabilities` in `dtype`, zero where the bool `keep` is False (unscaled)."""
    kept = tf.cast(probabilities, dtype)
    return kept if keep is None else kept * tf.cast(keep, dtype)


def dropout_seed(dropout):
    """The next seed of the `Dropout` layer's seed generator, as int32 (as
    Keras's own TensorFlow random ops use, and XLA needs)."""
    seed = dropout.seed_generator.next()
    return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")


def keep_mask(shape, threshold: int, seed):
    """Dropout's bool keep mask of `shape`, from a stateless `seed`.

    An entry is kept when a 16-bit random integer is at least `threshold`
    (`keras_umdf.backend.ops.keep_threshold`: `round(rate * 2**16)`), so each 32-bit draw of the
    generator serves two entries: half the random numbers of
    `keras.random.uniform(shape) >= rate`, whose masks were the largest cost
    of a training step after the matrix products
    (`benchmarks/profile_step.py`). The rate is thereby rounded to a multiple
    of 2**-16 (0.1 keeps 58,982 of 65,536: a rate of 0.100006). The seed comes
    from the `Dropout` layer's seed generator (`dropout_seed`), as its own
    masks do; the same seed gives the same mask, which the gradient redraws.
    """
    *outer, source = shape
    pairs = (source + 1) // 2
    draws = tf.random.stateless_uniform(
        (*outer, pairs), seed=seed, minval=None, maxval=None, dtype=tf.uint32
    )
    halves = tf.reshape(tf.bitcast(draws, tf.uint16), (*outer, 2 * pairs))
    if 2 * pairs != source:
        halves = halves[..., :source]
    return halves >= tf.constant(threshold, tf.uint16)
