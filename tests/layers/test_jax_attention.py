"""JAX's attention kernel (`keras_umdf.backend.jax.attention`) against the reference.

The kernel computes large attentions head by head with a gradient that
recomputes the probabilities, and draws its dropout masks from a counter hash;
it must give the reference's values and gradients
(`keras_umdf.layers.scaled_dot_product_attention`, `fused=False`), with masks
that keep 1 - rate of the entries, reproducibly from the `Dropout` layer's seed.
"""

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers.scaled_dot_product_attention import scaled_dot_product_attention
from tests.layers import reference

pytestmark = [
    pytest.mark.only_backend("jax"),
    pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING),
]

B, T, S, H, K = 3, 5, 7, 4, 4
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def jax_attention():
    """JAX's attention module (imported on JAX only)."""
    from keras_umdf.backend.jax import attention

    return attention


def inputs(rng, dtype="float32"):
    return [
        rng.normal(size=shape).astype(dtype)
        for shape in ((B, T, H, K), (B, S, H, K), (B, S, H, K))
    ]


def key_masks():
    shared = np.ones((B, S), bool)
    shared[0, :3] = False
    shared[1] = False  # Row 1: no key present.
    per_head = np.stack([np.roll(shared, h, axis=-1) for h in range(H)], axis=1)
    per_head[2, 1] = False  # Sample 2, head 1: no key present.
    return {"none": None, "shared": shared, "per_head": per_head}


def value_and_gradients(attend, xs, weights):
    """`sum(attend(q, k, v) * weights)` and its gradients, compiled by JAX."""
    import jax

    def loss(q, k, v):
        out = ops.cast(attend(q, k, v), "float32")
        return ops.sum(out * weights)

    values, grads = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))(*xs)
    return float(values), [np.asarray(g, "float32") for g in grads]


@pytest.mark.parametrize("heads_per_chunk", [1, 2, 4], ids=["one", "two", "all"])
@pytest.mark.parametrize("mask", sorted(key_masks()))
def test_attention_and_its_gradient_match_the_reference(rng, mask, heads_per_chunk):
    present = key_masks()[mask]
    xs = inputs(rng)
    weights = rng.normal(size=(B, T, H, K)).astype("float32")

    def fast(q, k, v):
        return jax_attention().attention(
            q, k, v, 0.5, present, heads_per_chunk=heads_per_chunk
        )

    def straightforward(q, k, v):
        return scaled_dot_product_attention(q, k, v, mask=present, fused=False)

    np.testing.assert_allclose(
        np.asarray(fast(*xs)), np.asarray(straightforward(*xs)), **TOLERANCE
    )
    value, grads = value_and_gradients(fast, xs, weights)
    expected_value, expected = value_and_gradients(straightforward, xs, weights)
    np.testing.assert_allclose(value, expected_value, rtol=1e-5)
    for a, b in zip(grads, expected, strict=True):
        assert np.abs(b).sum() > 0
        np.testing.assert_allclose(a, b, **TOLERANCE)


def test_all_missing_rows_give_the_reference_uniform_softmax(rng):
    # Every key missing: the reference's finite MASKED_LOGIT gives a uniform
    # softmax, the mean of V; the kernel keeps that (no NaN), gradients included.
    q, k, v = inputs(rng)
    absent = np.zeros((B, S), bool)
    out = np.asarray(jax_attention().attention(q, k, v, 0.5, absent))
    np.testing.assert_allclose(
        out, np.broadcast_to(v.mean(axis=1, keepdims=True), out.shape), **TOLERANCE
    )
    _, grads = value_and_gradients(
        lambda *xs: jax_attention().attention(*xs, 0.5, absent),
        [q, k, v],
        np.ones((B, T, H, K), "float32"),
    )
    assert all(np.isfinite(g).all() for g in grads)
    np.testing.assert_array_equal(grads[0], 0.0)  # no logit depends on Q


def test_fast_attention_takes_large_logits_only(rng, monkeypatch):
    attention = jax_attention()
    q, k, v = (ops.convert_to_tensor(x) for x in inputs(rng))
    # Logits of a few kilobytes fit in any cache's share: the reference's.
    assert B * H * T * S * 4 <= attention.cpu_cache.last_level_cache_bytes() // 32
    assert attention.fast_attention(q, k, v, scale=0.5) is None
    monkeypatch.setattr(attention, "MIN_LOGIT_BYTES", B * H * T * S * 4 - 1)
    fast = attention.fast_attention(q, k, v, scale=0.5)
    assert fast is not None
    # The layers' kernel (`fused=True`) now takes it: the reference's values.
    np.testing.assert_allclose(
        np.asarray(scaled_dot_product_attention(q, k, v, fused=True)),
        np.asarray(scaled_dot_product_attention(q, k, v, fused=False)),
        **TOLERANCE,
    )
    np.testing.assert_allclose(
        np.asarray(fast),
        np.asarray(scaled_dot_product_attention(q, k, v, fused=False)),
        **TOLERANCE,
    )


# Largest differences allowed from the float32 reference of the same (rounded)
# inputs: the kernel rounds only its output to the compute dtype, the reference
# also its products and probabilities.
MIXED_TOLERANCE = {"float16": 0.01, "bfloat16": 0.05}


@pytest.mark.parametrize("dtype", sorted(MIXED_TOLERANCE))
def test_mixed_precision_computes_in_float32_and_returns_the_compute_dtype(rng, dtype):
    present = key_masks()["shared"]
    xs = [ops.cast(x, dtype) for x in inputs(rng)]
    exact = [ops.cast(x, "float32") for x in xs]
    out = jax_attention().attention(*xs, 0.5, present)
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    expected = scaled_dot_product_attention(*exact, mask=present, fused=False)
    tolerance = MIXED_TOLERANCE[dtype]
    np.testing.assert_allclose(
        np.asarray(ops.cast(out, "float32")), np.asarray(expected), atol=tolerance
    )
    weights = rng.normal(size=(B, T, H, K)).astype("float32")
    _, grads = value_and_gradients(
        lambda *q: jax_attention().attention(*q, 0.5, present), xs, weights
    )
    _, expected_grads = value_and_gradients(
        lambda *q: scaled_dot_product_attention(*q, mask=present, fused=False),
        exact,
        weights,
    )
    scale = max(np.abs(g).max() for g in expected_grads)
    for a, b in zip(grads, expected_grads, strict=True):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, atol=tolerance * scale)


@pytest.mark.parametrize("mask", ["none", "per_head"])
def test_dropout_and_its_gradient_match_the_formula_with_the_same_mask(rng, mask):
    # With the kept entries those of `keep_mask` for the call's seed, dropout is
    # where(keep, P, 0) / (1 - rate): values and gradients.
    import jax

    attention = jax_attention()
    rate = 0.25
    present = key_masks()[mask]
    xs = inputs(rng)
    weights = rng.normal(size=(B, T, H, K)).astype("float32")
    dropout = keras.layers.Dropout(rate, seed=7)
    seed = np.asarray(keras.layers.Dropout(rate, seed=7).seed_generator.next())
    keep = np.asarray(attention.keep_mask(seed, (B, H, T, S), rate))
    assert 0 < keep.mean() < 1

    def fast(q, k, v):
        # One chunk per head: each chunk's mask is its part of the whole one.
        return attention.attention(q, k, v, 0.5, present, dropout, heads_per_chunk=1)

    def formula(q, k, v):
        logits = ops.einsum("bthk,bshk->bhts", q * 0.5, k)
        if present is not None:
            logits = ops.where(present[:, :, None, :], logits, -1e9)
        dropped = ops.where(keep, ops.softmax(logits, axis=-1), 0.0) / (1 - rate)
        return ops.einsum("bhts,bshk->bthk", dropped, v)

    def stateless(f):
        # The seed generator's state as an input, as Keras's JAX trainer does.
        state = dropout.seed_generator.state
        start = state.value

        def call(*xs):
            with keras.StatelessScope(state_mapping=[(state, start)]):
                return f(*xs)

        return call

    value, grads = value_and_gradients(stateless(fast), xs, weights)
    expected_value, expected = value_and_gradients(formula, xs, weights)
    np.testing.assert_allclose(value, expected_value, rtol=1e-5)
    for a, b in zip(grads, expected, strict=True):
        assert np.abs(b).sum() > 0
        np.testing.assert_allclose(a, b, **TOLERANCE)
    del jax


def test_dropout_is_reproducible_from_the_layers_seed_and_new_at_every_call(rng):
    attention = jax_attention()
    xs = [ops.convert_to_tensor(x) for x in inputs(rng)]

    def run(seed, calls=2):
        dropout = keras.layers.Dropout(0.5, seed=seed)
        return [
            np.asarray(attention.attention(*xs, 0.5, None, dropout))
            for _ in range(calls)
        ]

    first, second = run(3)
    again = run(3)
    np.testing.assert_array_equal(again[0], first)
    np.testing.assert_array_equal(again[1], second)
    assert not np.allclose(first, second)  # the generator advanced
    assert not np.allclose(run(4, calls=1)[0], first)  # another seed
    # Chunks draw their parts of one mask: the same output for any chunking.
    dropout = keras.layers.Dropout(0.5, seed=3)
    np.testing.assert_allclose(
        np.asarray(attention.attention(*xs, 0.5, None, dropout, heads_per_chunk=4)),
        first,
        **TOLERANCE,
    )


def near(observed, probability, n):
    """Whether a frequency is within 5 standard errors of `probability`."""
    return abs(observed - probability) < 5 * np.sqrt(
        probability * (1 - probability) / n
    )


@pytest.mark.parametrize("rate", [0.1, 0.5])
@pytest.mark.parametrize("source", [100, 7], ids=["even", "odd"])
def test_keep_masks_keep_one_minus_the_rate_independently(rate, source):
    attention = jax_attention()
    shape = (64, 3, 50, source)
    generator = keras.layers.Dropout(rate, seed=3).seed_generator
    first = np.asarray(attention.keep_mask(generator.next(), shape, rate))
    second = np.asarray(attention.keep_mask(generator.next(), shape, rate))
    assert first.shape == shape and first.dtype == bool
    kept = 1 - round(rate * 2**32) / 2**32
    assert near(first.mean(), kept, first.size)
    # Neighbours along every axis are independent.
    for axis in range(4):
        a = np.take(first, range(shape[axis] - 1), axis=axis)
        b = np.take(first, range(1, shape[axis]), axis=axis)
        assert near((a & b).mean(), kept**2, a.size), axis
    # Every head and every sample keeps its share.
    assert all(near(m, kept, first[:, 0].size) for m in first.mean(axis=(0, 2, 3)))
    # A new mask at every call, independent of the last.
    assert near((first == second).mean(), kept**2 + (1 - kept) ** 2, first.size)
    # The chunk of heads 1..2 is that part of the whole mask.
    part = np.asarray(
        attention.keep_mask(
            keras.layers.Dropout(rate, seed=3).seed_generator.next(),
            (64, 2, 50, source),
            rate,
            first_head=1,
            heads=3,
        )
    )
    np.testing.assert_array_equal(part, first[:, 1:])


def test_a_layer_trains_and_reloads_with_the_kernel(rng, monkeypatch, tmp_path):
    # The kernel holds no state: a model whose attention takes it (forced on
    # small logits) fits, saves, reloads and predicts the same.
    from keras_umdf.layers import CrossmodalAttention

    monkeypatch.setattr(jax_attention(), "MIN_LOGIT_BYTES", 0)
    x = rng.normal(size=(8, T, 8)).astype("float32")
    y = rng.normal(size=(8, T, 8)).astype("float32")
    inputs_ = keras.Input((T, 8))
    outputs = CrossmodalAttention(num_heads=2, dropout=0.5)(inputs_, inputs_)
    model = keras.Model(inputs_, outputs)
    model.compile(optimizer="adam", loss="mse")
    keras.utils.set_random_seed(1)
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        np.asarray(loaded.predict(x, verbose=0)),
        np.asarray(model.predict(x, verbose=0)),
        **TOLERANCE,
    )
