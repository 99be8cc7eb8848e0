"""The fast (fused) paths of the attention layers agree with the reference paths.

`fused=True` (the default) batches MCIM's attentions
(`keras_umdf.backend.fused_interaction`), fuses projections and takes the
backend's fastest attention kernel (`keras_umdf.backend.ops`, TensorFlow's in
`keras_umdf.backend.tensorflow.attention`); it must give the values and
gradients of the one-attention-at-a-time computation (`fused=False`) and of the
NumPy references of the paper's equations.
"""

import functools
import os

import keras
import numpy as np
import pytest
from keras import ops

import keras_umdf
from keras_umdf.backend import cpu_cache
from keras_umdf.backend import fused_interaction as fused
from keras_umdf.backend.ops import heads_in_cache
from keras_umdf.backend.ops import keep_threshold
from keras_umdf.layers import CrossmodalAttention
from keras_umdf.layers import MultiGrainedCrossmodalInteraction
from keras_umdf.layers import TransformerEncoder
from keras_umdf.layers.scaled_dot_product_attention import scaled_dot_product_attention
from tests.layers import reference
from tests.layers.gradients import gradients
from tests.layers.gradients import weighted_sum
from tests.layers.reference import to_numpy

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)

B, T, D = 3, 4, 8
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def tf_attention():
    """TensorFlow's head-by-head attention (imported on TensorFlow only)."""
    from keras_umdf.backend.tensorflow import attention

    return attention


@pytest.fixture(params=["default", "reference_attention"])
def attention_path(request, monkeypatch):
    """Runs a test as is (on TensorFlow, its head-by-head attention), and
    again with the backend's own attention kernel off (the reference)."""
    if request.param == "reference_attention":
        if keras.backend.backend() != "tensorflow":
            pytest.skip("only TensorFlow's default differs from the reference")
        monkeypatch.setattr("keras_umdf.backend.ops._backend_attention", lambda: None)
    return request.param


def aligned(rng, names=("text", "audio", "vision")):
    return {m: rng.normal(size=(B, T, D)).astype("float32") for m in names}


def mcim(names=("text", "audio", "vision"), **kwargs):
    layer = MultiGrainedCrossmodalInteraction(
        num_heads=2, intermediate_dim=12, **kwargs
    )
    layer.build({m: (None, T, D) for m in names})
    reference.randomize_weights(layer)
    return layer


def masks_with_gaps(names):
    masks = {m: np.ones((B, T), bool) for m in names}
    masks[names[0]][0, 1] = False
    masks[names[1]][1] = False  # Row 1: the second modality missing entirely.
    for m in names:
        masks[m][2] = False  # Row 2: everything missing.
    return masks


def call(layer, *args, **kwargs):
    """`layer(*args, **kwargs)`; on JAX as one compiled function (JAX runs a
    layer op by op otherwise, compiling every op on its first call)."""
    if keras.backend.backend() != "jax":
        return layer(*args, **kwargs)
    import jax

    variables = layer.variables

    def stateless(values):
        mapping = list(zip(variables, values, strict=True))
        with keras.StatelessScope(state_mapping=mapping):
            return layer(*args, **kwargs)

    return jax.jit(stateless)([v.value for v in variables])


def both_paths(layer, *args, **kwargs):
    """The layer's outputs with `fused=True`, then with `fused=False`."""
    layer.fused = True
    fused = call(layer, *args, **kwargs)
    layer.fused = False
    straightforward = call(layer, *args, **kwargs)
    layer.fused = True
    return fused, straightforward


def both_gradients(layer, loss, inputs):
    """`gradients(layer, loss, inputs)` with `fused=True`, then `fused=False`."""
    layer.fused = True
    fused = gradients(layer, loss, inputs)
    layer.fused = False
    straightforward = gradients(layer, loss, inputs)
    layer.fused = True
    return fused, straightforward


@pytest.mark.parametrize(
    "names, with_masks",
    [
        (("text", "audio", "vision"), False),
        (("text", "audio", "vision"), True),
        (("text", "vision"), True),
    ],
    ids=["lav", "lav-masked", "lv-masked"],
)
def test_fused_mcim_matches_the_reference_path_and_eqs_8_9(
    rng, names, with_masks, attention_path
):
    layer = mcim(names)
    z = aligned(rng, names)
    masks = masks_with_gaps(names) if with_masks else None
    fused, straightforward = both_paths(layer, z, masks=masks)
    expected = reference.mcim(layer, z, masks)
    for m in names:
        np.testing.assert_allclose(
            to_numpy(fused[m]), to_numpy(straightforward[m]), **TOLERANCE
        )
        np.testing.assert_allclose(to_numpy(fused[m]), expected[m], **TOLERANCE)
        assert np.isfinite(to_numpy(fused[m])).all()


def test_the_batched_interaction_needs_only_weights_as_arguments(rng):
    # The backend function computes Eqs. 8-9 from plain arrays: nothing of the
    # layer but its weights, read here as NumPy values.
    names = ("text", "audio", "vision")
    layer = mcim(names)
    z = aligned(rng, names)
    masks = masks_with_gaps(names)

    def dense(d):
        return fused.DenseWeights(*(to_numpy(w) for w in (d.kernel, d.bias)))

    def norm(n):
        return fused.NormWeights(to_numpy(n.gamma), to_numpy(n.beta))

    def attention(a):
        parts = (a.query_dense, a.key_dense, a.value_dense, a.output_dense)
        return fused.AttentionWeights(*map(dense, parts), norm(a.layer_norm))

    pairs = [(t, o) for t in names for o in names if o != t]
    outputs = fused.fused_interaction(
        [ops.convert_to_tensor(z[m]) for m in names],
        [ops.convert_to_tensor(masks[m]) for m in names],
        coarse=[attention(layer.coarse_attention[t]) for t in names],
        fine=[attention(layer.fine_attention[pair]) for pair in pairs],
        feed_forward=[
            fused.FeedForwardWeights(
                dense(layer.ffn_intermediate[t]),
                dense(layer.ffn_output[t]),
                norm(layer.ffn_layer_norm[t]),
            )
            for t in names
        ],
        num_heads=2,
        epsilon=1e-5,
        activation=keras.activations.relu,
        attend=functools.partial(scaled_dot_product_attention, fused=True),
        ffn_dropout=keras.layers.Dropout(0.0),
    )
    expected = reference.mcim(layer, z, masks)
    for m, out in zip(names, outputs, strict=True):
        np.testing.assert_allclose(to_numpy(out), expected[m], **TOLERANCE)


def test_fused_mcim_gradients_match_the_reference_path(rng, attention_path):
    # One loss over an unmasked call (where JAX and torch take their fused
    # kernels in float32) and a masked one (empty rows included). Two
    # modalities keep JAX's compile short; the values are checked with three.
    names = ("text", "vision")
    layer = mcim(names)
    z = aligned(rng, names)
    masks = masks_with_gaps(names)
    weights = [
        {m: rng.normal(size=z[m].shape).astype("float32") for m in names}
        for _ in range(2)
    ]

    def loss(*xs):
        inputs = dict(zip(names, xs, strict=True))
        total = 0.0
        for w, out in zip(
            weights, (layer(inputs), layer(inputs, masks=masks)), strict=True
        ):
            total = total + sum(weighted_sum(out[m], w[m]) for m in names)
        return total

    fused, straightforward = both_gradients(layer, loss, [z[m] for m in names])
    assert len(fused) == len(names) + len(layer.trainable_variables)
    for a, b in zip(fused, straightforward, strict=True):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# Differences allowed between the fused and the reference path under mixed
# precision (both round to the compute dtype, in different places): on the
# outputs (layer-normed, of order 1; about 0.016 and 0.002 seen), and on the
# gradients relative to the largest gradient (about 0.005 and 0.0006 seen).
MIXED_TOLERANCE = {
    "mixed_bfloat16": {"outputs": 0.06, "gradients": 0.02},
    "mixed_float16": {"outputs": 0.01, "gradients": 0.004},
}


@pytest.mark.parametrize("policy", sorted(MIXED_TOLERANCE))
def test_fused_mcim_matches_the_reference_path_under_mixed_precision(
    rng, policy, softmax_dtypes
):
    names = ("text", "vision")
    layer = MultiGrainedCrossmodalInteraction(
        num_heads=2, intermediate_dim=12, dtype=policy
    )
    layer.build({m: (None, T, D) for m in names})
    reference.randomize_weights(layer)
    z = aligned(rng, names)
    masks = masks_with_gaps(names)
    tolerance = MIXED_TOLERANCE[policy]
    layer.fused = True
    fused = call(layer, z, masks=masks)
    # One softmax for the M coarse attentions, one for the M (M - 1) fine ones.
    assert softmax_dtypes == ["float32", "float32"]
    layer.fused = False
    straightforward = call(layer, z, masks=masks)
    layer.fused = True
    expected = reference.mcim(layer, z, masks)  # float64
    for m in names:
        assert keras.backend.standardize_dtype(fused[m].dtype) == layer.compute_dtype
        a = to_numpy(ops.cast(fused[m], "float32"))
        b = to_numpy(ops.cast(straightforward[m], "float32"))
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, atol=tolerance["outputs"])
        np.testing.assert_allclose(a, expected[m], atol=2 * tolerance["outputs"])
    weights = {m: rng.normal(size=z[m].shape).astype("float32") for m in names}

    def loss(*xs):
        out = layer(dict(zip(names, xs, strict=True)), masks=masks)
        return sum(weighted_sum(out[m], weights[m]) for m in names)

    fused, straightforward = both_gradients(layer, loss, [z[m] for m in names])
    scale = max(np.abs(g).max() for g in straightforward)
    assert scale > 0
    for a, b in zip(fused, straightforward, strict=True):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, atol=tolerance["gradients"] * scale)


def test_a_model_saved_before_the_fused_paths_loads_and_predicts_the_same():
    # `data/fused_change_model.keras` was saved by the layers as they were before
    # the fused paths existed (MCIM and a transformer encoder on its outputs,
    # random weights), with its inputs and predictions beside it.
    folder = os.path.join(os.path.dirname(__file__), "data")
    saved = np.load(os.path.join(folder, "fused_change_model.npz"))
    model = keras.saving.load_model(os.path.join(folder, "fused_change_model.keras"))
    inputs = {m: saved[m] for m in ("text", "audio", "vision")}
    layers = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, (CrossmodalAttention, MultiGrainedCrossmodalInteraction))
    ]
    assert all(layer.fused for layer in layers) and len(layers) == 1 + 9 + 1
    np.testing.assert_allclose(
        to_numpy(call(model, inputs, training=False)), saved["expected"], **TOLERANCE
    )


def test_unaligned_lengths_and_the_ablation_take_the_reference_path(rng):
    layer = mcim()
    ragged = {
        m: rng.normal(size=(B, T + i, D)).astype("float32")
        for i, m in enumerate(("text", "audio", "vision"))
    }
    assert not layer._can_fuse(ragged)
    assert layer._can_fuse(aligned(rng))
    assert not mcim(attention="self")._can_fuse(aligned(rng))
    assert not mcim(fused=False)._can_fuse(aligned(rng))


def test_fused_is_saved_and_configs_without_it_load_fused():
    layer = MultiGrainedCrossmodalInteraction(num_heads=2, fused=False)
    config = layer.get_config()
    assert config["fused"] is False
    assert MultiGrainedCrossmodalInteraction.from_config(config).fused is False
    del config["fused"]  # A configuration saved before the argument existed.
    assert MultiGrainedCrossmodalInteraction.from_config(config).fused is True
    attention = CrossmodalAttention(num_heads=2, fused=False)
    assert CrossmodalAttention.from_config(attention.get_config()).fused is False


def test_fused_self_attention_and_encoder_match_the_reference_path(rng):
    x = rng.normal(size=(B, T, D)).astype("float32")
    mask = np.ones((B, T), bool)
    mask[0, :2] = False
    attention = CrossmodalAttention(num_heads=2)
    attention.build((None, T, D), (None, T, D))
    reference.randomize_weights(attention)
    encoder = TransformerEncoder(num_heads=2, intermediate_dim=12)
    encoder.build((None, T, D))
    reference.randomize_weights(encoder)
    tensor = ops.convert_to_tensor(x)
    for kwargs, expected in (
        ({}, reference.crossmodal_attention(attention, x, x)),
        ({"source_mask": mask}, reference.crossmodal_attention(attention, x, x, mask)),
    ):
        fused, straightforward = both_paths(attention, tensor, tensor, **kwargs)
        np.testing.assert_allclose(
            to_numpy(fused), to_numpy(straightforward), **TOLERANCE
        )
        np.testing.assert_allclose(to_numpy(fused), expected, **TOLERANCE)
    fused, straightforward = both_paths(encoder.self_attention, tensor, tensor)
    encoded = call(encoder, tensor)
    np.testing.assert_allclose(
        to_numpy(encoded), reference.transformer_encoder(encoder, x), **TOLERANCE
    )
    np.testing.assert_allclose(to_numpy(fused), to_numpy(straightforward), **TOLERANCE)


def head_masks():
    shared = np.ones((B, 6), bool)
    shared[0, :2] = False
    shared[1] = False  # Row 1: no key present.
    per_head = np.stack([shared, np.roll(shared, 1, axis=-1)], axis=1)
    return [None, shared, per_head]


# TensorFlow's path (see `attention_path`), tested where it runs.
@pytest.mark.only_backend("tensorflow")
@pytest.mark.parametrize("heads_per_chunk", [1, 2], ids=["one_head", "two_heads"])
@pytest.mark.parametrize("mask", head_masks(), ids=["none", "shared", "per_head"])
def test_head_by_head_attention_and_its_gradient_match_the_reference(
    rng, mask, heads_per_chunk
):
    q, k, v = (
        rng.normal(size=shape).astype("float32")
        for shape in ((B, T, 2, 4), (B, 6, 2, 4), (B, 6, 2, 4))
    )
    weights = rng.normal(size=(B, T, 2, 4)).astype("float32")
    holder = keras.layers.Identity()

    def loss(fast):
        def of(*xs):
            present = None if mask is None else ops.convert_to_tensor(mask)
            if fast:
                out = tf_attention().head_by_head(
                    *xs, 0.5, present, None, heads_per_chunk
                )
            else:
                out = scaled_dot_product_attention(*xs, mask=mask, fused=False)
            return weighted_sum(out, weights)

        return of

    fast = gradients(holder, loss(True), [q, k, v])
    straightforward = gradients(holder, loss(False), [q, k, v])
    for a, b in zip(fast, straightforward, strict=True):
        np.testing.assert_allclose(a, b, **TOLERANCE)
    tensors = [ops.convert_to_tensor(x) for x in (q, k, v)]
    present = None if mask is None else ops.convert_to_tensor(mask)
    np.testing.assert_allclose(
        to_numpy(
            tf_attention().head_by_head(*tensors, 0.5, present, None, heads_per_chunk)
        ),
        to_numpy(scaled_dot_product_attention(*tensors, mask=mask, fused=False)),
        **TOLERANCE,
    )


@pytest.mark.only_backend("tensorflow")
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_head_by_head_dropout_and_its_gradient_match_the_formula(rng, dtype):
    # With the kept entries fixed (the mask the layer's seed gives), dropout is
    # where(keep, P, 0) / (1 - rate); the kernel computes it in the dtype of its
    # inputs (mixed precision: float16) and redraws the mask for the gradient.
    rate, heads, source = 0.25, 2, 6
    q, k, v = (
        rng.normal(size=shape).astype("float32")
        for shape in ((B, T, heads, 4), (B, source, heads, 4), (B, source, heads, 4))
    )
    weights = rng.normal(size=(B, T, heads, 4)).astype("float32")
    attention = tf_attention()
    seeded = keras.layers.Dropout(rate, seed=5)
    keep = to_numpy(
        attention.keep_mask(
            (B, heads, T, source),
            keep_threshold(seeded.rate),
            attention.dropout_seed(seeded),
        )
    )
    assert 0 < keep.mean() < 1
    holder = keras.layers.Identity()

    def fast(q, k, v):
        q, k, v = (ops.cast(x, dtype) for x in (q, k, v))
        dropout = keras.layers.Dropout(rate, seed=5)  # the same first seed
        out = attention.head_by_head(q, k, v, 0.5, None, dropout, 1)
        return weighted_sum(ops.cast(out, "float32"), weights)

    def formula(q, k, v):
        q, k, v = (ops.transpose(x, (0, 2, 1, 3)) for x in (q, k, v))
        logits = ops.einsum("bhtk,bhsk->bhts", q, k) * 0.5
        probabilities = ops.softmax(logits, axis=-1)
        dropped = ops.where(ops.convert_to_tensor(keep), probabilities, 0.0)
        out = ops.transpose(ops.matmul(dropped / (1 - rate), v), (0, 2, 1, 3))
        return weighted_sum(out, weights)

    tolerance = TOLERANCE if dtype == "float32" else {"rtol": 0.02, "atol": 0.02}
    np.testing.assert_allclose(
        to_numpy(fast(q, k, v)), to_numpy(formula(q, k, v)), **tolerance
    )
    for a, b in zip(
        gradients(holder, fast, [q, k, v]),
        gradients(holder, formula, [q, k, v]),
        strict=True,
    ):
        assert np.abs(a).sum() > 0
        # float16: its rounding of the inputs and of every product.
        np.testing.assert_allclose(a, b, **tolerance)


@pytest.mark.only_backend("tensorflow")
def test_head_by_head_dropout_does_not_depend_on_the_chunks(rng):
    # One keep mask for all heads, split: any chunking gives the same values
    # and gradients from the same seed.
    q, k, v = (
        rng.normal(size=shape).astype("float32")
        for shape in ((B, T, 4, 4), (B, 6, 4, 4), (B, 6, 4, 4))
    )
    present = ops.convert_to_tensor(rng.random((B, 4, 6)) > 0.3)
    weights = rng.normal(size=(B, T, 4, 4)).astype("float32")
    holder = keras.layers.Identity()

    def chunked(heads_per_chunk):
        def of(*xs):
            dropout = keras.layers.Dropout(0.5, seed=7)
            out = tf_attention().head_by_head(
                *xs, 0.5, present, dropout, heads_per_chunk
            )
            return weighted_sum(out, weights)

        return gradients(holder, of, [q, k, v]), of(q, k, v)

    (one_head, one_value), (all_heads, all_value) = chunked(1), chunked(4)
    np.testing.assert_allclose(to_numpy(one_value), to_numpy(all_value), **TOLERANCE)
    for a, b in zip(one_head, all_heads, strict=True):
        assert np.abs(a).sum() > 0
        np.testing.assert_allclose(a, b, **TOLERANCE)
    # ... and dropout is on: another seed gives other values.
    other = tf_attention().head_by_head(
        q, k, v, 0.5, present, keras.layers.Dropout(0.5, seed=8), 4
    )
    assert not np.allclose(to_numpy(weighted_sum(other, weights)), to_numpy(one_value))


@pytest.mark.only_backend("tensorflow")
def test_chunks_follow_the_shapes_and_the_cache(tmp_path, monkeypatch):
    attention = tf_attention()
    for index, (level, size) in enumerate([(1, "32K"), (2, "1024K"), (3, "32768K")]):
        entry = tmp_path / f"index{index}"
        entry.mkdir()
        (entry / "level").write_text(f"{level}\n")
        (entry / "size").write_text(f"{size}\n")
    assert cpu_cache.last_level_cache_bytes(str(tmp_path)) == 32 * 2**20
    assert (
        cpu_cache.last_level_cache_bytes(str(tmp_path / "missing"))
        == cpu_cache.FALLBACK_CACHE_BYTES
    )
    monkeypatch.setattr(cpu_cache, "last_level_cache_bytes", lambda: 32 * 2**20)
    # 4 MiB per chunk: 32 x 50 x 150 float32 logits are 0.96 MB a head.
    assert attention.chunk_heads(32, 30, 50, 150) == 3
    assert attention.chunk_heads(None, 30, 50, 150) == 3  # ASSUMED_BATCH
    # A head over the budget: one at a time; small logits: all heads at once.
    assert attention.chunk_heads(256, 30, 50, 150) == 1
    assert attention.chunk_heads(8, 10, 4, 6) == 10
    # Always a divisor of the head count.
    assert 60 % attention.chunk_heads(32, 60, 50, 100) == 0
    monkeypatch.setattr(cpu_cache, "last_level_cache_bytes", lambda: 2 * 2**30)
    assert attention.chunk_heads(32, 30, 50, 150) == 30


def test_heads_in_cache_divides_the_heads_by_a_share_of_the_cache(monkeypatch):
    # The rule of the TensorFlow and JAX kernels, at JAX's share (1/32: 1 MiB of
    # 32 MiB).
    monkeypatch.setattr(cpu_cache, "last_level_cache_bytes", lambda: 32 * 2**20)
    assert heads_in_cache(32, 10, 50, 50, 32) == 2  # 320 KB a head
    assert heads_in_cache(32, 30, 50, 150, 32) == 1
    assert heads_in_cache(16, 10, 50, 50, 32) == 5
    monkeypatch.setattr(cpu_cache, "last_level_cache_bytes", lambda: 8 * 2**20)
    assert heads_in_cache(32, 10, 50, 50, 32) == 1


@pytest.mark.only_backend("tensorflow")
@pytest.mark.parametrize("rate", [0.1, 0.5])
@pytest.mark.parametrize("source", [50, 7], ids=["even", "odd"])
def test_head_by_head_keep_masks_keep_one_minus_the_rate(rate, source):
    # Two 16-bit integers per 32-bit draw, kept at or above round(rate * 2**16).
    shape = (64, 2, 50, source)
    attention = tf_attention()

    def keep_mask(dropout):
        seed = attention.dropout_seed(dropout)
        return to_numpy(attention.keep_mask(shape, keep_threshold(dropout.rate), seed))

    dropout = keras.layers.Dropout(rate, seed=3)
    first = keep_mask(dropout)
    second = keep_mask(dropout)
    assert first.shape == shape and first.dtype == bool
    kept = 1 - round(rate * 2**16) / 2**16

    def near(observed, probability, n):
        return abs(observed - probability) < 5 * np.sqrt(
            probability * (1 - probability) / n
        )

    assert near(first.mean(), kept, first.size)
    # Neighbours share a 32-bit draw and are still independent.
    both = first[..., 0 : source - 1 : 2] & first[..., 1:source:2]
    assert near(both.mean(), kept**2, both.size)
    # A new mask at every call, independent of the last.
    assert near((first == second).mean(), kept**2 + (1 - kept) ** 2, first.size)
    # The layer's seed makes it reproducible.
    again = keep_mask(keras.layers.Dropout(rate, seed=3))
    np.testing.assert_array_equal(again, first)


# JAX runs this model op by op here (minutes of compiling); the layers' tests
# above cover the fused paths on JAX.
@pytest.mark.only_backend("tensorflow", "torch")
def test_umdf_predictions_do_not_depend_on_the_fused_paths(rng):
    dims = {"text": 6, "audio": 5, "vision": 4}
    model = keras_umdf.UMDF(dims, hidden_dim=8, num_heads=2, num_layers=1)
    view = {m: rng.normal(size=(B, T, d)).astype("float32") for m, d in dims.items()}
    fused = to_numpy(model(view, training=False))
    switched = 0
    for layer in model._flatten_layers():
        if isinstance(layer, (CrossmodalAttention, MultiGrainedCrossmodalInteraction)):
            layer.fused, switched = False, switched + 1
    assert switched == 1 + 9 + 2  # MCIM, its 9 attentions, the 2 encoders'
    np.testing.assert_allclose(
        to_numpy(model(view, training=False)), fused, **TOLERANCE
    )
