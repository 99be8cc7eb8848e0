import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers import CrossmodalAttention
from tests.layers import reference
from tests.layers.gradients import gradients
from tests.layers.gradients import weighted_sum
from tests.layers.reference import to_numpy
from tests.layers.saving import save_and_load

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)

B, T_TARGET, T_SOURCE, D, D_SOURCE = 3, 4, 6, 8, 5


@pytest.fixture
def data(rng):
    target = rng.normal(size=(B, T_TARGET, D)).astype("float32")
    source = rng.normal(size=(B, T_SOURCE, D_SOURCE)).astype("float32")
    # Row 0 complete, row 1 partly missing, row 2 entirely missing.
    mask = np.ones((B, T_SOURCE), bool)
    mask[1, [0, 2, 5]] = False
    mask[2] = False
    return target, source, mask


def built_layer(**kwargs):
    layer = CrossmodalAttention(num_heads=2, **kwargs)
    layer.build((None, None, D), (None, None, D_SOURCE))
    reference.randomize_weights(layer)
    return layer


def test_output_shape_follows_target_for_other_source_length_and_width(data):
    target, source, _ = data
    layer = CrossmodalAttention(num_heads=2)
    output = layer(target, source)
    assert tuple(output.shape) == (B, T_TARGET, D)
    assert layer.compute_output_shape((None, 9, D), (None, 2, 3)) == (None, 9, D)
    assert tuple(layer.key_dense.kernel.shape) == (D_SOURCE, D)


def test_explicit_key_dim_sets_the_head_size(data):
    target, source, _ = data
    layer = CrossmodalAttention(num_heads=2, key_dim=3)
    assert tuple(layer(target, source).shape) == (B, T_TARGET, D)
    assert tuple(layer.query_dense.kernel.shape) == (D, 2 * 3)
    assert tuple(layer.output_dense.kernel.shape) == (2 * 3, D)


def test_matches_numpy_reference_of_eq7(data):
    target, source, mask = data
    layer = built_layer()
    expected = reference.crossmodal_attention(layer, target, source)
    np.testing.assert_allclose(
        to_numpy(layer(target, source)), expected, rtol=1e-4, atol=1e-4
    )
    masked = reference.crossmodal_attention(layer, target, source, mask)
    output = to_numpy(layer(target, source, source_mask=mask))
    np.testing.assert_allclose(output, masked, rtol=1e-4, atol=1e-4)
    # The mask changes the partly masked row, so the reference is not trivial.
    assert not np.allclose(masked[1], expected[1], atol=1e-3)


def test_reference_without_biases(data):
    target, source, _ = data
    layer = built_layer(use_bias=False)
    assert layer.query_dense.bias is None
    expected = reference.crossmodal_attention(layer, target, source)
    np.testing.assert_allclose(
        to_numpy(layer(target, source)), expected, rtol=1e-4, atol=1e-4
    )


def test_fully_masked_source_row_gives_layer_norm_of_target(data):
    target, source, mask = data
    layer = built_layer()
    output = to_numpy(layer(target, source, source_mask=mask))
    assert np.isfinite(output).all()
    expected = reference.layer_norm(target[2].astype("float64"), layer.layer_norm)
    np.testing.assert_allclose(output[2], expected, rtol=1e-5, atol=1e-5)


def test_float_and_bool_masks_agree(data):
    target, source, mask = data
    layer = built_layer()
    as_bool = to_numpy(layer(target, source, source_mask=mask))
    as_float = to_numpy(layer(target, source, source_mask=mask.astype("float32")))
    np.testing.assert_allclose(as_bool, as_float, rtol=1e-6, atol=1e-6)


def test_gradients_are_finite_with_a_fully_masked_row(data):
    target, source, mask = data
    layer = built_layer()
    weights = np.random.default_rng(1).normal(size=(B, T_TARGET, D)).astype("float32")

    def loss(t, s):
        return weighted_sum(layer(t, s, source_mask=mask), weights)

    grads = gradients(layer, loss, [target, source])
    assert all(np.isfinite(g).all() for g in grads)
    # The fully masked row has no path to the source.
    np.testing.assert_array_equal(grads[1][2], 0.0)
    assert np.abs(grads[1][0]).sum() > 0


def test_dropout_acts_in_training_only(data):
    target, source, _ = data
    layer = built_layer(dropout=0.5)
    inference = reference.crossmodal_attention(layer, target, source)
    np.testing.assert_allclose(
        to_numpy(layer(target, source, training=False)), inference, rtol=1e-4, atol=1e-4
    )
    training = to_numpy(layer(target, source, training=True))
    assert np.isfinite(training).all()
    assert not np.allclose(training, inference, atol=1e-3)


def test_config_round_trip():
    layer = CrossmodalAttention(
        num_heads=4, key_dim=3, dropout=0.1, use_bias=False, epsilon=1e-3, name="ca"
    )
    config = layer.get_config()
    for key, expected in {
        "num_heads": 4,
        "key_dim": 3,
        "dropout": 0.1,
        "use_bias": False,
        "epsilon": 1e-3,
    }.items():
        assert config[key] == expected
    restored = CrossmodalAttention.from_config(config)
    assert restored.get_config() == config


def test_save_and_load_keras_file(data, tmp_path):
    target, source, mask = data
    target_in = keras.Input((None, D))
    source_in = keras.Input((None, D_SOURCE))
    mask_in = keras.Input((None,))
    layer = CrossmodalAttention(num_heads=2, name="ca")
    output = layer(target_in, source_in, source_mask=mask_in)
    model = keras.Model([target_in, source_in, mask_in], output)
    reference.randomize_weights(layer)
    inputs = [target, source, mask.astype("float32")]
    loaded = save_and_load(model, tmp_path)
    assert isinstance(loaded.get_layer("ca"), CrossmodalAttention)
    np.testing.assert_allclose(
        loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), atol=1e-6
    )


def test_mixed_bfloat16_runs_softmax_in_float32(data, softmax_dtypes):
    target, source, mask = data
    full = built_layer()
    mixed = CrossmodalAttention(num_heads=2, dtype="mixed_bfloat16")
    mixed.build((None, None, D), (None, None, D_SOURCE))
    mixed.set_weights(full.get_weights())
    output = mixed(target, source, source_mask=mask)
    assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
    assert softmax_dtypes and set(softmax_dtypes) == {"float32"}
    output = to_numpy(ops.cast(output, "float32"))
    assert np.isfinite(output).all()
    expected = to_numpy(full(target, source, source_mask=mask))
    np.testing.assert_allclose(output, expected, atol=0.15)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_heads": 0}, "num_heads must be a positive int"),
        ({"num_heads": 2, "key_dim": 0}, "key_dim must be a positive int"),
        ({"num_heads": 2, "dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CrossmodalAttention(**kwargs)


def test_width_not_divisible_by_heads_names_the_shape():
    with pytest.raises(ValueError, match=r"width 8 .*\(None, 5, 8\).*num_heads=3"):
        CrossmodalAttention(num_heads=3).build((None, 5, D), (None, 6, D))


def test_wrong_rank_names_the_shapes(data):
    target, source, _ = data
    with pytest.raises(ValueError, match=r"\(3, 32\)"):
        CrossmodalAttention(num_heads=2)(target.reshape(B, -1), source)


def test_other_widths_after_build_are_rejected(data):
    target, source, _ = data
    layer = built_layer()
    with pytest.raises(ValueError, match=r"built for target width 8 .* \(3, 6, 7\)"):
        layer(target, np.zeros((B, T_SOURCE, 7), "float32"))


def test_mask_of_other_length_is_rejected(data):
    target, source, _ = data
    layer = built_layer()
    with pytest.raises(ValueError, match=r"\(3, 6\).*received \(3, 5\)"):
        layer(target, source, source_mask=np.ones((B, 5), bool))
