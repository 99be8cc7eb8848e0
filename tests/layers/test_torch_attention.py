"""PyTorch's attention kernel agrees with the reference attention.

`keras_umdf.backend.torch.attention` computes the attention in chunks of heads,
with a gradient that recomputes the probabilities and dropout masks drawn four
to a 64-bit random number; `keras_umdf.backend.ops.fast_attention` takes it on
the PyTorch backend. It must give the values and gradients of the reference
(`scaled_dot_product_attention(..., fused=False)`) for both mask shapes, rows
without any present key, mixed precision and any chunking, and with dropout
those of the formula `where(keep, P, 0) / (1 - rate) V` for the masks it draws.
"""

import keras
import numpy as np
import pytest

from keras_umdf.layers.scaled_dot_product_attention import MASKED_LOGIT
from keras_umdf.layers.scaled_dot_product_attention import scaled_dot_product_attention

pytestmark = pytest.mark.only_backend("torch")

B, T, S, H, K = 3, 5, 7, 4, 4
TOLERANCE = {
    "float32": {"rtol": 1e-5, "atol": 1e-5},
    # The rounding of the inputs, the logits and every product.
    "float16": {"rtol": 0.01, "atol": 0.01},
    "bfloat16": {"rtol": 0.05, "atol": 0.05},
}


def torch_attention():
    """The kernel's module (imported on PyTorch only)."""
    from keras_umdf.backend.torch import attention

    return attention


@pytest.fixture(params=[None, 2 * T * S, 1 << 30], ids=["default", "chunks", "one"])
def chunk_logits(request, monkeypatch):
    """The default chunks; chunks of two heads' logits (several chunks, the
    last one shorter); one chunk for everything."""
    if request.param is not None:
        monkeypatch.setattr(torch_attention(), "CHUNK_LOGITS", request.param)
    return request.param


@pytest.fixture
def kernel_calls(monkeypatch):
    """Counts the kernel's calls, to check that a test ran it."""
    attention = torch_attention()
    calls = []
    original = attention.fast_attention

    def counted(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(attention, "fast_attention", counted)
    return calls


def inputs(rng, dtype="float32", source=S):
    import torch

    shapes = ((B, T, H, K), (B, source, H, K), (B, source, H, K))
    return [
        torch.tensor(rng.normal(size=shape).astype("float32")).to(getattr(torch, dtype))
        for shape in shapes
    ]


def masks(rng, kind, source=S):
    """None, `(batch, S)` or `(batch, heads, S)`, each with rows missing every key."""
    import torch

    if kind is None:
        return None
    if kind == "every_head":
        present = rng.random((B, source)) > 0.3
        present[1] = False  # sample 1: every key missing
    else:
        present = rng.random((B, H, source)) > 0.3
        present[0, 2] = False  # sample 0, head 2: every key missing
        present[2] = False  # sample 2: every key missing in every head
    return torch.tensor(present)


def values_and_gradients(attend, xs, weights):
    """`attend(q, k, v)` in float32 and the gradients of `sum(weights * it)`."""
    leaves = [x.detach().clone().requires_grad_() for x in xs]
    out = attend(*leaves)
    (out.float() * weights).sum().backward()
    return [out.detach().float()] + [x.grad.float() for x in leaves]


def assert_close(a, b, dtype="float32"):
    np.testing.assert_allclose(a.numpy(), b.numpy(), **TOLERANCE[dtype])


@pytest.mark.parametrize("mask_kind", [None, "every_head", "per_head"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_values_and_gradients_match_the_reference(
    rng, chunk_logits, kernel_calls, mask_kind, dtype
):
    import torch

    xs = inputs(rng, dtype)
    mask = masks(rng, mask_kind)
    weights = torch.tensor(rng.normal(size=(B, T, H, K)).astype("float32"))

    def attend(fused):
        def of(q, k, v):
            out = scaled_dot_product_attention(q, k, v, mask=mask, fused=fused)
            assert out.dtype == q.dtype and tuple(out.shape) == (B, T, H, K)
            return out

        return of

    fast = values_and_gradients(attend(True), xs, weights)
    # Without mask in float32 the kernel leaves it to PyTorch's fused attention.
    used = not (mask_kind is None and dtype == "float32")
    assert kernel_calls == [used]
    reference = values_and_gradients(attend(False), xs, weights)
    assert kernel_calls == [used]  # the reference did not ask the kernel
    for a, b in zip(fast, reference, strict=True):
        assert torch.isfinite(a).all()
        assert_close(a, b, dtype)


def test_rows_without_a_present_key_get_a_uniform_softmax(rng, kernel_calls):
    # As the reference: every logit MASKED_LOGIT, so the mean of the values.
    import torch

    q, k, v = inputs(rng)
    mask = torch.zeros((B, S), dtype=torch.bool)
    out = scaled_dot_product_attention(q, k, v, mask=mask)
    assert kernel_calls == [True]
    expected = v.mean(dim=1, keepdim=True).expand(B, T, H, K)
    assert_close(out, expected)
    assert MASKED_LOGIT == -1e9


def reference_with_dropout(q, k, v, mask, keep, rate):
    """The formula: `where(keep, P, 0) / (1 - rate) V`, P the reference's softmax."""
    import torch

    logits = torch.einsum("bthk,bshk->bhts", q * K**-0.5, k).float()
    if mask is not None:
        present = mask[:, None, None, :] if mask.dim() == 2 else mask[:, :, None, :]
        logits = torch.where(present, logits, MASKED_LOGIT)
    probabilities = torch.softmax(logits, dim=-1).to(q.dtype)
    dropped = torch.where(keep, probabilities, 0.0) / (1 - rate)
    return torch.einsum("bhts,bshk->bthk", dropped.to(q.dtype), v)


@pytest.mark.parametrize("mask_kind", [None, "every_head", "per_head"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_dropout_and_its_gradient_match_the_formula(
    rng, chunk_logits, kernel_calls, mask_kind, dtype
):
    import torch

    attention = torch_attention()
    rate = 0.25
    xs = inputs(rng, dtype)
    mask = masks(rng, mask_kind)
    weights = torch.tensor(rng.normal(size=(B, T, H, K)).astype("float32"))
    dropout = keras.layers.Dropout(rate, seed=7)
    # The masks the kernel will draw: from the seed generator's next seed.
    seed = attention.seed_of(dropout.seed_generator.state.value)
    keep = attention.keep_masks((B * H, T, S), rate, seed, "cpu").bool()
    keep = keep.reshape(B, H, T, S)
    assert 0 < keep.float().mean() < 1

    def fast(q, k, v):
        return scaled_dot_product_attention(
            q, k, v, mask=mask, dropout=dropout, training=True
        )

    def formula(q, k, v):
        return reference_with_dropout(q, k, v, mask, keep, rate)

    got = values_and_gradients(fast, xs, weights)
    assert kernel_calls == [True]
    expected = values_and_gradients(formula, xs, weights)
    for a, b in zip(got, expected, strict=True):
        assert a.abs().sum() > 0
        assert_close(a, b, dtype)


def test_dropout_is_reproducible_from_the_layers_seed(rng, kernel_calls):
    import torch

    q, k, v = inputs(rng, source=50)

    def attend(dropout):
        return scaled_dot_product_attention(q, k, v, dropout=dropout, training=True)

    first, second = keras.layers.Dropout(0.5, seed=3), keras.layers.Dropout(0.5, seed=3)
    a, b = attend(first), attend(second)
    assert torch.equal(a, b)  # the same seed, the same masks
    assert not torch.equal(attend(first), a)  # the next seed, new masks
    assert not torch.equal(attend(keras.layers.Dropout(0.5, seed=4)), a)
    assert kernel_calls == [True] * 4


@pytest.mark.parametrize("rate", [0.1, 0.5])
@pytest.mark.parametrize("source", [50, 7], ids=["even", "odd"])
def test_keep_masks_keep_one_minus_the_rounded_rate(rate, source):
    import torch

    attention = torch_attention()
    shape = (64, 50, source)
    first = attention.keep_masks(shape, rate, 11, "cpu")
    assert tuple(first.shape) == shape
    assert set(torch.unique(first).tolist()) <= {0.0, 1.0}
    assert torch.equal(first, attention.keep_masks(shape, rate, 11, "cpu"))
    assert not torch.equal(first, attention.keep_masks(shape, rate, 12, "cpu"))
    kept = 1 - attention.rounded_rate(rate)
    n = first.numel()
    assert abs(first.mean().item() - kept) < 5 * np.sqrt(kept * (1 - kept) / n)
    # The four entries of a 64-bit draw are independent of each other.
    flat = first.reshape(-1)[: n // 4 * 4].reshape(-1, 4)
    both = (flat[:, 0] * flat[:, 1]).mean().item()
    assert abs(both - kept**2) < 5 * np.sqrt(kept**2 * (1 - kept**2) / len(flat))


@pytest.mark.parametrize("rate", [0.1, 0.25])
def test_an_entry_is_kept_when_its_16_bit_integer_reaches_the_rate(rate):
    # Four entries per 64-bit draw of the generator, in memory order.
    import torch

    attention = torch_attention()
    out = torch.empty((64, 50, 101))
    attention.draw_keep(out, rate, attention._generator(5, "cpu"))
    draws = torch.empty((out.numel() + 3) // 4, dtype=torch.int64)
    draws.random_(-(2**63), None, generator=attention._generator(5, "cpu"))
    integers = draws.view(torch.int16)[: out.numel()].to(torch.int32) + 2**15
    expected = (integers >= round(rate * 2**16)).float().reshape(out.shape)
    assert torch.equal(out, expected)


def test_the_rate_is_rounded_to_a_multiple_of_2_to_the_minus_16():
    attention = torch_attention()
    assert attention.rounded_rate(0.1) == 6554 / 2**16
    assert attention.rounded_rate(0.5) == 0.5
    assert attention.rounded_rate(0.99999999) == (2**16 - 1) / 2**16


def test_dropout_keeps_the_expected_share_through_the_kernel(kernel_calls):
    # Values of ones: each output is (kept share of the row's P) / (1 - rate).
    import torch

    rate = 0.1
    q = torch.zeros((8, 50, 10, 4))
    k = torch.zeros((8, 100, 10, 4))
    v = torch.ones((8, 100, 10, 4))
    out = scaled_dot_product_attention(
        q, k, v, dropout=keras.layers.Dropout(rate, seed=1), training=True
    )
    assert kernel_calls == [True]
    mean = out.mean().item() * (1 - torch_attention().rounded_rate(rate))
    n = 8 * 50 * 10 * 100
    assert abs(mean - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / n)


def test_symbolic_tensors_get_the_reference():
    import torch

    meta = [torch.empty(shape, device="meta") for shape in ((2, 3, 2, 4),) * 3]
    mask = torch.ones((2, 3), dtype=torch.bool, device="meta")
    assert torch_attention().fast_attention(*meta, scale=0.5, mask=mask) is None


def test_float32_without_mask_or_dropout_is_left_to_the_fused_kernel(rng):
    import torch

    q, k, v = inputs(rng)
    attention = torch_attention()
    assert attention.fast_attention(q, k, v, scale=0.5) is None
    half = attention.fast_attention(*(x.half() for x in (q, k, v)), scale=0.5)
    assert half is not None and half.dtype == torch.float16
