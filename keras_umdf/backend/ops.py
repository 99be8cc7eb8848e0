"""The attention layers' dispatch point: the fastest kernel of each backend.

The layers compute with `keras.ops`; where a backend has a faster way to the
same values, they ask here. Every choice of backend for the layers' kernels is
made in this file.
"""

import keras
from keras import ops

from keras_umdf.backend import cpu_cache


def fast_attention(query, key, value, *, scale: float, mask=None, dropout=None):
    """`softmax(scale * Q K^T) V` by the backend's fastest kernel, or None.

    - The backend's own attention, where it has one for these shapes: the
      `fast_attention` of `keras_umdf.backend.<backend>.attention`
      (TensorFlow's heads in chunks with a gradient that recomputes the
      probabilities; see each module for its rule and its dropout masks).
    - Otherwise, where nothing needs the probabilities themselves (no mask,
      no dropout) in float32: `keras.ops.dot_product_attention`, the fused
      kernel of JAX and PyTorch.
    - Otherwise None: the caller computes the reference
      (`keras_umdf.layers.scaled_dot_product_attention`).

    Args:
        query: `(batch, T, heads, k)`.
        key: `(batch, S, heads, k)`.
        value: `(batch, S, heads, k)`.
        scale: the factor of the logits.
        mask: None, or the bool presence mask of the keys, `(batch, S)` or
            `(batch, heads, S)`.
        dropout: None, or the `keras.layers.Dropout` of the probabilities when
            it is active (training with a positive rate).

    Returns:
        `(batch, T, heads, k)` in the dtype of `query`, or None.
    """
    backend_attention = _backend_attention()
    if backend_attention is not None:
        attended = backend_attention.fast_attention(
            query, key, value, scale=scale, mask=mask, dropout=dropout
        )
        if attended is not None:
            return attended
    if (
        mask is None
        and dropout is None
        and keras.backend.standardize_dtype(query.dtype) == "float32"
    ):
        return ops.dot_product_attention(query, key, value, scale=scale)
    return None


def _backend_attention():
    """The running backend's `attention` module, or None where it has none."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from keras_umdf.backend.tensorflow import attention
    elif backend == "jax":
        from keras_umdf.backend.jax import attention
    elif backend == "torch":
        from keras_umdf.backend.torch import attention
    else:
        return None
    return attention


def largest_divisor(count: int, at_most: int) -> int:
    """The largest divisor of `count` up to `at_most` (at least 1): how many
    heads the attention kernels put in one chunk, so that all chunks are equal."""
    return max(c for c in range(1, max(1, min(count, at_most)) + 1) if count % c == 0)


def heads_in_cache(batch: int, heads: int, target: int, source: int, share: int):
    """How many heads an attention kernel computes at a time: the largest
    divisor of `heads` whose float32 logits for the batch, `batch x chunk x T x
    S x 4` bytes, fit in `1 / share` of the CPU's last-level cache
    (`keras_umdf.backend.cpu_cache`); 1 where a single head's do not."""
    per_head = max(1, batch * target * source * 4)
    fitting = cpu_cache.last_level_cache_bytes() // share // per_head
    return largest_divisor(heads, max(1, fitting))


def keep_threshold(rate) -> int:
    """The 16-bit integer at or above which the attention kernels' dropout keeps
    an entry: `round(rate * 2**16)`, at most 2**16 - 1. The rate they realise
    is thereby rounded to a multiple of 2**-16 (0.1 keeps 58,982 of 65,536: a
    rate of 0.100006)."""
    return min(round(float(rate) * 2**16), 2**16 - 1)


def grouped_matmul(x, kernel):
    """`einsum("btgi,gio->btgo", x, kernel)`: x (batch, T, G, i), kernel (G, i, o).

    TensorFlow computes it as one batched matmul
    (`keras_umdf.backend.tensorflow.grouped_matmul`); JAX and PyTorch compile
    or dispatch the einsum to the same products themselves.
    """
    if keras.backend.backend() == "tensorflow":
        from keras_umdf.backend.tensorflow.grouped_matmul import (
            grouped_matmul as batched,
        )

        return batched(x, kernel)
    return ops.einsum("btgi,gio->btgo", x, kernel)
