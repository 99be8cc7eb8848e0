import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers import DynamicFeatureIntegration
from tests.layers import reference
from tests.layers.gradients import gradients
from tests.layers.gradients import weighted_sum
from tests.layers.reference import to_numpy
from tests.layers.saving import save_and_load

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)

B, T, D = 3, 5, 6


@pytest.fixture
def streams(rng):
    h_a = rng.normal(size=(B, T, D)).astype("float32")
    h_b = rng.normal(size=(B, T, D)).astype("float32")
    return h_a, h_b


def built_layer(**kwargs):
    layer = DynamicFeatureIntegration(**kwargs)
    layer.build([(None, None, D), (None, None, D)])
    reference.randomize_weights(layer)
    return layer


def dfim_reference(layer, h_a, h_b, mask_a=None, mask_b=None):
    """Eqs. 10-11 with the frame-wise self-enhancement of design decision 1 (docs/design-decisions.md)."""
    w = reference.value(layer.score_dense.kernel)
    bias = reference.value(layer.score_dense.bias)

    def enhance(h, mask):
        h = h.astype("float64")
        scores = (h @ w + bias)[..., 0]  # (B, T): one score per frame
        weights = np.zeros_like(scores)
        for b in range(h.shape[0]):
            present = np.ones(h.shape[1], bool) if mask is None else mask[b]
            if present.any():
                weights[b, present] = reference.softmax(scores[b, present])
        return weights[..., None] * h

    e_a, e_b = enhance(h_a, mask_a), enhance(h_b, mask_b)
    mu = reference.sigmoid(
        reference.conv1d_same(
            np.concatenate([e_a, e_b], axis=-1),
            reference.value(layer.gate_convolution.kernel),
            reference.value(layer.gate_convolution.bias),
        )
    )
    return mu * e_a + (1.0 - mu) * e_b


def test_output_shape(streams):
    layer = DynamicFeatureIntegration()
    assert tuple(layer(list(streams)).shape) == (B, T, D)
    assert layer.compute_output_shape([(None, 9, D), (None, 9, D)]) == (None, 9, D)


def test_one_scorer_is_shared_by_both_streams():
    layer = built_layer()
    shapes = sorted(tuple(v.shape) for v in layer.trainable_variables)
    # Dense(1) kernel and bias once, the gate Conv1D(D, 3) on 2D features.
    assert shapes == sorted([(D, 1), (1,), (3, 2 * D, D), (D,)])


def test_matches_numpy_reference_of_eqs_10_11(streams):
    h_a, h_b = streams
    layer = built_layer()
    output = to_numpy(layer([h_a, h_b]))
    np.testing.assert_allclose(
        output, dfim_reference(layer, h_a, h_b), rtol=1e-4, atol=1e-5
    )


def test_masked_frames_get_no_weight_and_a_fully_masked_stream_gives_zero(streams):
    h_a, h_b = streams
    mask_a = np.ones((B, T), bool)
    mask_a[1, [0, 3]] = False
    mask_a[2] = False  # Row 2 of view a: every frame missing.
    mask_b = np.ones((B, T), bool)
    mask_b[0, -1] = False
    layer = built_layer()
    output = to_numpy(layer([h_a, h_b], mask=[mask_a, mask_b]))
    expected = dfim_reference(layer, h_a, h_b, mask_a, mask_b)
    assert np.isfinite(output).all()
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-5)
    # Only a mask for view b: view a counts as complete.
    output = to_numpy(layer([h_a, h_b], mask=[None, mask_b]))
    np.testing.assert_allclose(
        output, dfim_reference(layer, h_a, h_b, None, mask_b), rtol=1e-4, atol=1e-5
    )
    out_mask = to_numpy(layer.compute_mask([h_a, h_b], [mask_a, mask_b]))
    np.testing.assert_array_equal(out_mask, mask_a | mask_b)
    assert layer.compute_mask([h_a, h_b], [None, mask_b]) is None


def test_gradients_are_finite_with_a_fully_masked_stream(streams):
    h_a, h_b = streams
    mask_a = np.ones((B, T), bool)
    mask_a[2] = False
    layer = built_layer()
    weights = np.random.default_rng(1).normal(size=(B, T, D)).astype("float32")

    def loss(a, b):
        return weighted_sum(layer([a, b], mask=[mask_a, None]), weights)

    grads = gradients(layer, loss, [h_a, h_b])
    assert all(np.isfinite(g).all() for g in grads)
    np.testing.assert_array_equal(grads[0][2], 0.0)
    assert np.abs(grads[0][0]).sum() > 0


def test_concat_fusion_is_a_projection_of_both_streams(streams):
    h_a, h_b = streams
    layer = built_layer(fusion="concat")
    assert not hasattr(layer, "score_dense")
    expected = reference.dense(
        np.concatenate([h_a, h_b], axis=-1).astype("float64"), layer.concat_dense
    )
    output = to_numpy(layer((h_a, h_b)))
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fusion", ["dynamic", "concat"])
def test_config_round_trip(fusion):
    layer = DynamicFeatureIntegration(kernel_size=5, fusion=fusion, name="dfim")
    config = layer.get_config()
    assert (config["kernel_size"], config["fusion"]) == (5, fusion)
    assert DynamicFeatureIntegration.from_config(config).get_config() == config


def test_save_and_load_keras_file(streams, tmp_path):
    h_a_in, h_b_in = keras.Input((None, D)), keras.Input((None, D))
    layer = DynamicFeatureIntegration(name="dfim")
    model = keras.Model([h_a_in, h_b_in], layer([h_a_in, h_b_in]))
    reference.randomize_weights(layer)
    loaded = save_and_load(model, tmp_path)
    assert isinstance(loaded.get_layer("dfim"), DynamicFeatureIntegration)
    inputs = list(streams)
    np.testing.assert_allclose(
        loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), atol=1e-6
    )


def test_mixed_bfloat16_runs_softmax_in_float32(streams, softmax_dtypes):
    full = built_layer()
    mixed = DynamicFeatureIntegration(dtype="mixed_bfloat16")
    mixed.build([(None, None, D), (None, None, D)])
    mixed.set_weights(full.get_weights())
    output = mixed(list(streams))
    assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
    assert softmax_dtypes and set(softmax_dtypes) == {"float32"}
    output = to_numpy(ops.cast(output, "float32"))
    assert np.isfinite(output).all()
    np.testing.assert_allclose(output, to_numpy(full(list(streams))), atol=0.05)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fusion": "sum"}, "fusion must be one of"),
        ({"kernel_size": 0}, "kernel_size must be a positive int"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DynamicFeatureIntegration(**kwargs)


@pytest.mark.parametrize(
    "shape_b, match",
    [
        ((B, T + 1, D), r"\(3, 5, 6\) and \(3, 6, 6\).*one length"),
        ((B, T, D + 1), r"\(3, 5, 6\) and \(3, 5, 7\)"),
        (
            (B, T),
            r"\(batch, time, features\); received shapes \(3, 5, 6\) and \(3, 5\)",
        ),
    ],
)
def test_mismatched_streams_are_rejected(shape_b, match, streams):
    with pytest.raises(ValueError, match=match):
        DynamicFeatureIntegration()([streams[0], np.zeros(shape_b, "float32")])


def test_inputs_must_be_a_pair(streams):
    with pytest.raises(ValueError, match=r"list of two.*received a list of 3 items"):
        DynamicFeatureIntegration()([streams[0]] * 3)
