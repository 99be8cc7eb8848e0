"""PyTorch's attention: chunks of heads, a gradient that recomputes the probabilities.

Computes the same values as the reference in
`keras_umdf.layers.scaled_dot_product_attention` (to float tolerance; the
dropout rate rounded, `rounded_rate`). `keras_umdf.backend.ops.fast_attention`
asks it first; `tests/layers/test_torch_attention.py` compares it with the
reference.

Why (`python -m benchmarks.profile_torch_step`, on a CPU): UMDF's heads are
tiny (k = 4) and its logits large (MCIM: 30 heads x 50 x 150 and 60 heads x 50
x 100 per sample and layer), so the attention is a series of passes over large
(batch x heads, T, S) matrices, about 85% of a training step. In eager
PyTorch each pass of the reference writes a new matrix of tens or hundreds of
MB, which the allocator maps from the operating system anew: the page faults
of its first touch cost several times the pass itself (a product with k = 4
into a new 38 MB matrix took 50 ms, into a reused one 9 ms). The reference
makes about ten such passes (logits, softmax, Keras's dropout: Bernoulli
draws, a product with the mask; and their gradients) and keeps about 9 bytes
per logit for the gradient (softmax output, dropout mask, dropped
probabilities). Its dropout, `torch.nn.functional.dropout` for Keras's unseeded
layers, draws one random number per entry, serially, on CPUs without MKL's
generator (AMD): 8 to 12 ns per entry, a quarter of the step.

Here the heads of all samples are computed in chunks of `chunk_logits()`
logits (a quarter of the CPU's last-level cache), in a few buffers allocated
once per call: small enough to be reused from the allocator's free lists and
to stay in the caches. The forward pass
keeps only Q, K, V and the output; the backward pass recomputes each chunk's
probabilities from Q and K, as FlashAttention does, and draws the chunk's
dropout mask again from the same seed, so nothing of the size of the logits
is kept. The dropout masks take four entries from each 64-bit random number
(`draw_keep`).
"""

from __future__ import annotations

import torch
from keras import ops

from keras_umdf.backend.cpu_cache import last_level_cache_bytes
from keras_umdf.backend.ops import keep_threshold
from keras_umdf.layers.scaled_dot_product_attention import MASKED_LOGIT

CHUNK_LOGITS = None
"""Logits per chunk (batch x heads slices, each T x S, are grouped up to it).
None: `chunk_logits()`, from the machine's cache; a number overrides it."""


def chunk_logits() -> int:
    """The logits of a chunk: float32 logits filling a quarter of the CPU's
    last-level cache (`keras_umdf.backend.cpu_cache`), at least 2**16.

    A chunk that size is reused from the allocator's free lists and stays in
    the cache through its passes. Smaller chunks keep less memory but make
    more, smaller operations, and every operation of PyTorch's thread pool
    waits for all its threads: with other processes on the cores, chunks of 1
    MiB made MCIM's attention several times slower than chunks of 16 MiB (2
    threads on 2 shared cores of an AMD EPYC reporting 32 MiB of L3, whose
    rule gives 8 MiB).
    """
    return max(2**16, last_level_cache_bytes() // 4 // 4)


def fast_attention(query, key, value, *, scale, mask=None, dropout=None):
    """`softmax(scale * Q K^T) V` in chunks of heads, or None for the reference.

    Returns None (the caller computes its attention) where this does not pay
    or cannot run:

    - without mask and dropout in float32: nothing needs the probabilities,
      and PyTorch's fused kernel (`keras.ops.dot_product_attention`, which
      the caller takes then) computes the same in one operation, as fast on
      one core and without waiting for threads chunk by chunk;
    - on the symbolic `meta` device, where Keras infers shapes and nothing is
      computed;
    - while `torch.compile` traces, which cannot trace a `torch.Generator`.

    Args:
        query: `(batch, T, heads, k)`.
        key: `(batch, S, heads, k)`.
        value: `(batch, S, heads, k)`.
        scale: the factor of the logits.
        mask: None, or the bool presence mask of the keys, `(batch, S)` or
            `(batch, heads, S)`.
        dropout: None, or the active `keras.layers.Dropout` of the
            probabilities; its seed generator seeds the masks (`seed_of`), one
            `next()` per call, as Keras's own dropout.

    Returns:
        `(batch, T, heads, k)` in the dtype of `query`, or None.
    """
    if mask is None and dropout is None and query.dtype == torch.float32:
        return None
    if query.device.type == "meta" or torch.compiler.is_compiling():
        return None
    batch, target, heads, depth = query.shape
    source = key.shape[1]

    def head_major(x):
        # (batch, time, heads, k) -> (batch x heads, time, k), contiguous.
        return x.permute(0, 2, 1, 3).reshape(batch * heads, x.shape[1], depth)

    present = None
    if mask is not None:
        if mask.dim() == 2:  # every head
            mask = mask[:, None, :].expand(batch, heads, source)
        present = mask.reshape(batch * heads, 1, source).to(torch.float32)
    rate, seed = 0.0, None
    if dropout is not None:
        rate = rounded_rate(dropout.rate)
        seed = seed_of(dropout.seed_generator.next())
    scaled = query * torch.tensor(scale, dtype=query.dtype, device=query.device)
    output = _ChunkedAttention.apply(
        head_major(scaled), head_major(key), head_major(value), present, rate, seed
    )
    return output.reshape(batch, heads, target, depth).permute(0, 2, 1, 3)


def rounded_rate(rate) -> float:
    """The dropout rate the masks realise: `rate` rounded to a multiple of 2**-16.

    `keep_mask` keeps an entry when a 16-bit random integer is at least
    `round(rate * 2**16)`; the kept entries are scaled by `1 / (1 - rounded)`,
    so the dropout is unbiased at the rounded rate (0.1 keeps 58,982 of
    65,536: a rate of 0.100006).
    """
    return keep_threshold(rate) / 2**16


def seed_of(seed_state) -> int:
    """The generator seed of the `(2,)` state `SeedGenerator.next()` returns.

    PyTorch's CPU generator keeps 32 bits of a seed. The initial seed and the
    call counter enter them as `seed * 0x9E3779B1 + counter` (mod 2**32), so
    every call of a Dropout layer draws new masks, and neighbouring seeds do
    not share masks a few calls apart (as `seed + counter` would).
    """
    first, second = (int(x) for x in torch.as_tensor(seed_state).reshape(-1)[:2])
    return (first * 0x9E3779B1 + second) & 0xFFFFFFFF


def draw_keep(out, rate: float, generator):
    """Fills `out` (uint8 or floating) with dropout's keep mask: 1 kept, 0 dropped.

    Each 64-bit draw of the generator serves four entries as four 16-bit
    integers; an entry is kept when its integer is at least `rate * 2**16`
    (`rate` from `rounded_rate`): a quarter of the draws of `torch.bernoulli`'s
    one per entry, and PyTorch's CPU generator draws one number at a time. The
    comparison writes the mask in `out`'s dtype directly: a bool mask, which a
    product with the probabilities would convert, costs several passes more.
    """
    count = out.numel()
    draws = torch.empty((count + 3) // 4, dtype=torch.int64, device=out.device)
    draws.random_(-(2**63), None, generator=generator)
    halves = draws.view(torch.int16)[:count].view(out.shape)
    # As signed 16-bit integers, u >= t becomes u - 2**15 >= t - 2**15.
    return torch.ge(halves, round(rate * 2**16) - 2**15, out=out)


def keep_masks(shape, rate: float, seed: int, device):
    """The keep masks the kernel draws for `(batch x heads, T, S)` logits, float32.

    The chunks' masks in order, from one generator seeded with `seed`, as the
    forward and the backward pass draw them (`draw_keep`).
    """
    slices, target, source = shape
    masks = torch.empty(shape, dtype=torch.float32, device=device)
    generator = _generator(seed, device)
    for start, stop in _chunks(slices, target, source):
        draw_keep(masks[start:stop], rate, generator)
    return masks


def _generator(seed: int, device):
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def _chunks(slices: int, target: int, source: int):
    """`(start, stop)` of the chunks of the batch x heads slices."""
    size = max(1, (CHUNK_LOGITS or chunk_logits()) // max(1, target * source))
    return [(start, min(start + size, slices)) for start in range(0, slices, size)]


class _ChunkedAttention(torch.autograd.Function):
    """The attention of `(batch x heads, time, k)` operands, chunk by chunk.

    `q` is already scaled; `present` is None or the float presence of the keys
    `(slices, 1, S)`. Forward as the reference: logits (float32), masked
    logits, softmax, probabilities in the dtype of `q`, dropout (the kept ones
    scaled by `1 / (1 - rate)`, here after the product with V, which is the
    same), product with V. The gradient recomputes each chunk's probabilities
    from Q and K, and uses rowsum(dP * P) = rowsum(dO * O), as FlashAttention
    does, instead of the softmax's generic gradient; the values are the same.

    Every chunk computes in the same few buffers (`out=`), allocated once per
    call. Products whose result is (T, k) or (S, k), which contract a large
    (T, S) matrix, are computed transposed, as (k, T) or (k, S): the same sums,
    several times faster with CPU BLAS, whose kernels for the direct form
    run inner loops of length k = 4.
    """

    @staticmethod
    def forward(ctx, q, k, v, present, rate, seed):
        slices, target, depth = q.shape
        source = k.shape[1]
        dtype, device = q.dtype, q.device
        output_t = torch.empty((slices, depth, target), dtype=dtype, device=device)
        generator = None if seed is None else _generator(seed, device)
        work = _Workspace(q, k, present)
        value_t = v.transpose(1, 2)
        for start, stop in _chunks(slices, target, source):
            probabilities = work.probabilities(start, stop)
            if generator is not None:
                probabilities.mul_(
                    draw_keep(work.kept[: stop - start], rate, generator)
                )
            torch.bmm(
                value_t[start:stop],
                probabilities.transpose(1, 2),
                out=output_t[start:stop],
            )
        output = output_t.transpose(1, 2)
        output = output.contiguous()
        if generator is not None:
            output.mul_(1.0 / (1.0 - rate))
        ctx.save_for_backward(q, k, v, output, present)
        ctx.rate, ctx.seed = rate, seed
        return output

    @staticmethod
    def backward(ctx, d_output):
        q, k, v, output, present = ctx.saved_tensors
        rate, seed = ctx.rate, ctx.seed
        # The forward pass's keep masks again: the same seed, the same chunks.
        generator = None if seed is None else _generator(seed, q.device)
        slices, target, depth = q.shape
        source = k.shape[1]
        dtype, device = q.dtype, q.device
        # rowsum(dP * P) for every query, (slices, T, 1), float32.
        d_output = d_output.contiguous()
        row = torch.sum(d_output.float() * output.float(), dim=-1, keepdim=True)
        if generator is not None:
            d_output = d_output * (1.0 / (1.0 - rate))
        d_q_t = torch.empty((slices, depth, target), dtype=dtype, device=device)
        d_k_t = torch.empty((slices, depth, source), dtype=dtype, device=device)
        d_v_t = torch.empty((slices, depth, source), dtype=dtype, device=device)
        work = _Workspace(q, k, present)
        key_t, value_t = k.transpose(1, 2), v.transpose(1, 2)
        q_t, d_output_t = q.transpose(1, 2), d_output.transpose(1, 2)
        d_logits = (
            None
            if dtype == torch.float32
            else torch.empty(work.logits.shape, dtype=dtype, device=device)
        )
        for start, stop in _chunks(slices, target, source):
            size = stop - start
            probabilities = work.probabilities(start, stop, low=False)
            # dS = P * (keep * dA - row), dA = dO V^T, in float32, computed in
            # the logits' buffer (free again after the softmax).
            scores = work.logits[:size]
            if dtype == torch.float32:
                torch.bmm(d_output[start:stop], value_t[start:stop], out=scores)
            else:
                scores.copy_(torch.bmm(d_output[start:stop], value_t[start:stop]))
            kept = None
            if generator is not None:
                kept = draw_keep(work.kept[:size], rate, generator)
                scores.mul_(kept)
            scores.sub_(row[start:stop]).mul_(probabilities)
            if work.present is not None:  # rows with every key missing
                scores.mul_(work.present[start:stop])
            if d_logits is not None:
                scores = d_logits[:size].copy_(scores)
            torch.bmm(key_t[start:stop], scores.transpose(1, 2), out=d_q_t[start:stop])
            torch.bmm(q_t[start:stop], scores, out=d_k_t[start:stop])
            if dtype != torch.float32:
                probabilities = work.probabilities_low[:size].copy_(probabilities)
            if kept is not None:
                probabilities.mul_(kept)
            torch.bmm(d_output_t[start:stop], probabilities, out=d_v_t[start:stop])
        return (
            d_q_t.transpose(1, 2),
            d_k_t.transpose(1, 2),
            d_v_t.transpose(1, 2),
            None,
            None,
            None,
        )


class _Workspace:
    """The buffers of a chunk's logits and probabilities, reused by every chunk.

    Allocated once per call: a new large tensor per pass would be mapped from
    the operating system anew (page faults on first touch).
    """

    def __init__(self, q, k, present):
        slices, target, _ = q.shape
        source = k.shape[1]
        size = _chunks(slices, target, source)[0][1]
        shape = (size, target, source)
        self.q, self.key_t, self.present = q, k.transpose(1, 2), present
        self.dtype = q.dtype
        self.logits = torch.empty(shape, dtype=torch.float32, device=q.device)
        self.probabilities_low = (
            None
            if q.dtype == torch.float32
            else torch.empty(shape, dtype=q.dtype, device=q.device)
        )
        # The keep mask of a chunk, in the dtype of the probabilities: a product
        # with a uint8 or bool mask would convert it to a new tensor first.
        self.kept = torch.empty(shape, dtype=q.dtype, device=q.device)
        self.bias = None
        if present is not None:
            self.bias = (1.0 - present) * MASKED_LOGIT

    def probabilities(self, start, stop, low=True):
        """Chunk `start:stop`'s softmax, `(chunk, T, S)`; in the dtype of `q`
        when `low`, else float32. A view of a buffer the next chunk reuses."""
        size = stop - start
        logits = self.logits[:size]
        if self.dtype == torch.float32:
            torch.bmm(self.q[start:stop], self.key_t[start:stop], out=logits)
        else:
            low_logits = torch.bmm(self.q[start:stop], self.key_t[start:stop])
            logits.copy_(low_logits)
        if self.present is not None:
            # where(present, logits, MASKED_LOGIT) as logits * present + bias.
            torch.addcmul(
                self.bias[start:stop], logits, self.present[start:stop], out=logits
            )
        # Keras's softmax (PyTorch's), so that tests observe its float32 input.
        probabilities = ops.softmax(logits, axis=-1)
        if low and self.probabilities_low is not None:
            return self.probabilities_low[:size].copy_(probabilities)
        return probabilities
