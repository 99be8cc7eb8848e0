"""JAX's attention for large logits: heads in turn, the probabilities recomputed.

Computes the same values as the reference in
`keras_umdf.layers.scaled_dot_product_attention` (to float tolerance; its
dropout masks are drawn by `keep_mask`, not by `keras.random`).
`keras_umdf.backend.ops.fast_attention` chooses it;
`tests/layers/test_jax_attention.py` compares it with the reference.

Where the reference's training step spent its time on CPU (UMDF at the paper's
MOSI configuration, batch 16, `jax.profiler` per XLA thunk): about 35 % drawing
the dropout masks of the attention probabilities (JAX's threefry, tens of
integer operations per random number, over every logit), about 40 % in the
products and softmax passes over the logits, `(batch, heads, T, S)` with heads
of k = 4 (the gradients of K and V alone, contracted over T, about 10 %), and a
large share of what remained in page faults: XLA's CPU runtime maps its buffer
of temporaries afresh at every step, and the probabilities kept for the
gradient made it the size of every attention's logits at once. The MCIM
layers' attentions were over 90 % of the step.
"""

import jax
import jax.numpy as jnp
import numpy as np

from keras_umdf.backend import cpu_cache
from keras_umdf.backend.ops import heads_in_cache
from keras_umdf.backend.ops import largest_divisor
from keras_umdf.layers.scaled_dot_product_attention import MASKED_LOGIT

CACHE_SHARE = 32
"""A chunk's float32 logits, `batch x heads x T x S x 4` bytes, take at most
this share (1/32) of the CPU's last-level cache
(`keras_umdf.backend.ops.heads_in_cache`): they stay in cache through the
softmax, the dropout and both products, and XLA reuses one chunk's buffers for
the next. Chosen from the measurements on a 2-core AMD EPYC with 32 MiB
reported (so 1 MiB a chunk): at 32 clips of MCIM's attention (10 heads, 50 x
50, 320 KB a head) 1 and 2 heads per chunk ran alike, 5 and more slower, all
heads at once slowest and with several times the temporaries. The rule gives
2 heads there, 1 for the 30-head coarse attention and at batch 128."""

HEADS_PER_CHUNK = None
"""None: chunks from `CACHE_SHARE`. A number sets them for every attention."""

MIN_LOGIT_BYTES = None
"""Attentions whose float32 logits for the whole batch take no more than this
are left to the reference (which keeps the ops whose softmax dtype the layers'
tests record); None: the same share of the cache as a chunk. Logits that
small fit in cache as the reference computes them, and keeping them for the
gradient costs little."""


def fast_attention(query, key, value, *, scale, mask=None, dropout=None):
    """The attention of `keras_umdf.backend.ops.fast_attention`, or None.

    None (the reference computes it) for logits of at most `MIN_LOGIT_BYTES`,
    of 2**32 elements or more (`keep_mask`'s index), or of unknown size.

    Args:
        query: `(batch, T, heads, k)`.
        key: `(batch, S, heads, k)`.
        value: `(batch, S, heads, k)`.
        scale: the factor of the logits.
        mask: None, or the bool presence mask of the keys, `(batch, S)` or
            `(batch, heads, S)`.
        dropout: None, or the active `keras.layers.Dropout` of the
            probabilities.

    Returns:
        `(batch, T, heads, k)` in the dtype of `query`, or None.
    """
    batch, target, heads = query.shape[0], query.shape[1], query.shape[-2]
    source = key.shape[1]
    if None in (batch, heads, target, source):
        return None
    logits = batch * heads * target * source
    if logits >= 2**32:
        return None  # the 32-bit index of `keep_mask`
    smallest = MIN_LOGIT_BYTES
    if smallest is None:
        smallest = cpu_cache.last_level_cache_bytes() // CACHE_SHARE
    if logits * 4 <= smallest:
        return None
    return attention(query, key, value, scale, mask, dropout)


def attention(query, key, value, scale, mask=None, dropout=None, heads_per_chunk=None):
    """The explicit attention, `heads_per_chunk` heads at a time.

    The chunks are the steps of one `jax.lax.map` (an XLA while loop): one
    compiled body, run in turn, so that a chunk's large temporaries, logits
    `(batch, chunk, T, S)` and what is computed from them, are all XLA keeps
    of them at once. Each chunk has a custom gradient (`_attend`) that keeps
    nothing of that size for the backward pass.

    Mixed precision: Q, K and V are cast to float32 once (small: k = 4 per
    head); logits, softmax, dropout and both products are float32, and only
    the output is cast back to the dtype of `query`. (The reference multiplies
    in the compute dtype and computes only the softmax in float32: the values
    differ by the compute dtype's rounding.)

    Args:
        query: `(batch, T, heads, k)`.
        key: `(batch, S, heads, k)`.
        value: `(batch, S, heads, k)`.
        scale: the factor of the logits.
        mask: None, or the bool presence mask of the keys, `(batch, S)` or
            `(batch, heads, S)`.
        dropout: None, or the active `keras.layers.Dropout` of the
            probabilities (its rate and seed generator are used).
        heads_per_chunk: at most this many heads per chunk; default
            `HEADS_PER_CHUNK`, or where that is None, as many as
            `CACHE_SHARE` of the cache holds.

    Returns:
        `(batch, T, heads, k)` in the dtype of `query`.
    """
    dtype = query.dtype
    batch, target, heads = query.shape[0], query.shape[1], query.shape[-2]
    limit = heads_per_chunk or HEADS_PER_CHUNK
    if limit:
        chunk = largest_divisor(heads, limit)
    else:
        chunk = heads_in_cache(batch, heads, target, key.shape[1], CACHE_SHARE)
    chunks = heads // chunk
    if dropout is None:
        rate, seed = 0.0, None
    else:
        rate = float(dropout.rate)
        seed = jnp.asarray(dropout.seed_generator.next()).astype(jnp.uint32)
    attend = _attend(float(scale), rate, heads)

    def by_chunk(x):
        # (batch, time, heads, ...) -> (chunks, batch, chunk, time, ...).
        x = jnp.swapaxes(x, 1, 2)
        x = x.reshape(x.shape[0], chunks, chunk, *x.shape[2:])
        return jnp.moveaxis(x, 1, 0)

    q, k, v = (by_chunk(x.astype(jnp.float32)) for x in (query, key, value))
    first_heads = jnp.arange(chunks, dtype=jnp.uint32) * np.uint32(chunk)
    present = None if mask is None else jnp.asarray(mask, bool)
    if present is not None and present.ndim == 3:
        # (batch, heads, S) -> (chunks, batch, chunk, 1, S)
        per_chunk = by_chunk(jnp.swapaxes(present, 1, 2)[:, :, :, None])
        per_chunk = jnp.swapaxes(per_chunk, -1, -2)

        def step(xs):
            q, k, v, present, first = xs
            return attend(q, k, v, present, seed, first)

        out = jax.lax.map(step, (q, k, v, per_chunk, first_heads))
    else:
        if present is not None:  # (batch, S) -> (batch, 1, 1, S), every head
            present = present[:, None, None, :]

        def step(xs):
            q, k, v, first = xs
            return attend(q, k, v, present, seed, first)

        out = jax.lax.map(step, (q, k, v, first_heads))
    # (chunks, batch, chunk, T, k) -> (batch, T, heads, k)
    out = jnp.moveaxis(out, 0, 1).reshape(out.shape[1], heads, *out.shape[3:])
    return jnp.swapaxes(out, 1, 2).astype(dtype)


def _attend(scale, rate, heads):
    """`attend(q, k, v, present, seed, first_head)`, one chunk's attention.

    `q` is `(batch, chunk, T, k)`, `k` and `v` `(batch, chunk, S, k)`, float32;
    `present` None or bool `(batch, 1 or chunk, 1, S)`; `seed` None (no dropout)
    or the `(2,)` uint32 seed of the call; `first_head` the index of the
    chunk's first head among `heads` (its keep mask is that part of the whole
    attention's, `keep_mask`).

    Forward as the reference: logits, masked logits, softmax, dropout, product
    with V; the softmax's normalisation and the dropout's 1 / (1 - rate) are
    applied to the small output instead of the probabilities (the same
    values). It keeps for the gradient only Q, K, V, the output, the row
    maxima and the inverse row sums: the backward pass recomputes the logits
    (k = 4 products per element, cheaper on CPU than storing and reloading
    them) and regenerates the keep mask from the seed. An
    `optimization_barrier` on those residuals stops XLA from merging the
    recomputation with the forward pass (which would keep the logits alive
    again).

    The gradient uses rowsum(dP * P) = rowsum(dO * O) (as FlashAttention,
    and TensorFlow's kernel in `keras_umdf.backend.tensorflow.attention`),
    instead of the softmax's generic gradient: fewer passes over the logits.
    The gradients of K and V, contracted over T, are computed as `(k, S)`
    products and transposed after: XLA's CPU dot runs the direct `(S, k)`
    form, which reads the large operand transposed, about twice as slowly.
    """
    keep_scale = 1.0 / (1.0 - rate)

    def logits_of(q, k, present):
        logits = jnp.einsum("bhtk,bhsk->bhts", q * scale, k)
        if present is not None:
            logits = jnp.where(present, logits, MASKED_LOGIT)
        return logits

    def keep_of(seed, first, shape):
        return None if seed is None else keep_mask(seed, shape, rate, first, heads)

    def forward(q, k, v, present, seed, first):
        logits = logits_of(q, k, present)
        peak = jnp.max(logits, axis=-1, keepdims=True)
        weights = jnp.exp(logits - peak)
        inverse_total = 1.0 / jnp.sum(weights, axis=-1, keepdims=True)
        keep = keep_of(seed, first, logits.shape)
        if keep is not None:
            weights = jnp.where(keep, weights, 0.0)
        out = jnp.einsum("bhts,bhsk->bhtk", weights, v) * (inverse_total * keep_scale)
        return out, (q, k, v, present, seed, first, out, peak, inverse_total)

    def backward(residuals, d_out):
        residuals = jax.lax.optimization_barrier(residuals)
        q, k, v, present, seed, first, out, peak, inverse_total = residuals
        logits = logits_of(q, k, present)
        probabilities = jnp.exp(logits - peak) * inverse_total
        keep = keep_of(seed, first, logits.shape)
        row = jnp.sum(d_out * out, axis=-1, keepdims=True)
        d_kept = jnp.einsum("bhtk,bhsk->bhts", d_out, v)
        if keep is None:
            kept = probabilities
            d_logits = probabilities * (d_kept - row)
        else:  # P * (keep * dK / (1 - rate) - row)
            kept = jnp.where(keep, probabilities * keep_scale, 0.0)
            d_logits = kept * d_kept - probabilities * row
        if present is not None:
            d_logits = jnp.where(present, d_logits, 0.0)
        d_q = jnp.einsum("bhts,bhsk->bhtk", d_logits, k) * scale
        d_k = _over_time(d_logits, q) * scale
        d_v = _over_time(kept, d_out)
        return d_q, d_k, d_v, None, None, None

    @jax.custom_vjp
    def attend(q, k, v, present, seed, first):
        return forward(q, k, v, present, seed, first)[0]

    attend.defvjp(forward, backward)
    return attend


def _over_time(a, b):
    """`einsum("bhts,bhtk->bhsk", a, b)` computed as `(k, S)` and transposed.

    The barrier keeps XLA's algebraic simplifier from folding the transpose
    back into the product (the slow form).
    """
    product = jnp.einsum("bhts,bhtk->bhks", a, b)
    return jnp.swapaxes(jax.lax.optimization_barrier(product), -1, -2)


def _mix(x):
    """A bijective 32-bit integer hash (`lowbias32`, C. Wellons)."""
    x = x ^ (x >> 16)
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> 16)


def keep_mask(seed, shape, rate, first_head=0, heads=None):
    """Dropout's bool keep mask of `shape`, `(batch, chunk, T, S)`.

    Entry (b, h, t, s) is kept when a 32-bit hash of its index in the whole
    attention's `(batch, heads, T, S)` and of the call's seed is at least
    `round(rate * 2**32)`: the rate is rounded to a multiple of 2**-32 (0.1
    keeps 3,865,470,566 of 2**32). The hash, two rounds of `lowbias32` keyed
    by the seed, is a counter-based generator of a few integer operations per
    entry that XLA fuses into the loops that use the mask: no random numbers
    are stored, and the backward pass regenerates the same mask. It replaces
    `keras.random`'s threefry draws, about 100 times slower on CPU and a third
    of the reference's training step; its keep rate and the independence of
    neighbouring entries and of successive masks are tested like a
    generator's (`tests/layers/test_jax_attention.py`). The index is 32-bit:
    `fast_attention` leaves attentions of 2**32 logits or more to the
    reference.

    The seed is the `Dropout` layer's `seed_generator.next()`, as its own
    masks use: reproducible from the layer's seed, and new at every call.

    Args:
        seed: `(2,)` uint32.
        shape: `(batch, chunk, T, S)`.
        rate: the dropout rate.
        first_head: the index of the chunk's first head.
        heads: the number of heads of the whole attention (default `chunk`).

    Returns:
        bool, `shape`.
    """
    _, _, target, source = shape
    heads = heads or shape[1]
    seed = jnp.asarray(seed).astype(jnp.uint32)
    offset = _mix(seed[0] ^ np.uint32(0x9E3779B9))
    key = _mix(seed[1] + offset)
    iota = jax.lax.broadcasted_iota
    head = iota(jnp.uint32, shape, 1) + jnp.asarray(first_head, jnp.uint32)
    row = iota(jnp.uint32, shape, 0) * np.uint32(heads) + head
    index = (row * np.uint32(target) + iota(jnp.uint32, shape, 2)) * np.uint32(
        source
    ) + iota(jnp.uint32, shape, 3)
    bits = _mix(_mix(index + offset) ^ key)
    threshold = np.uint32(min(round(rate * 2**32), 2**32 - 1))
    return bits >= threshold
