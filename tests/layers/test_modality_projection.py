import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers import ModalityProjection
from tests.layers import reference
from tests.layers.reference import to_numpy
from tests.layers.saving import save_and_load

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)


def test_each_modality_keeps_its_length_and_gets_width_d(rng):
    # Text, audio and vision of different lengths and widths, one projection each.
    for length, width in ((3, 5), (5, 4), (7, 6)):
        x = rng.normal(size=(2, length, width)).astype("float32")
        layer = ModalityProjection(8)
        assert tuple(layer(x).shape) == (2, length, 8)
        assert tuple(layer.kernel.shape) == (3, width, 8)
    assert layer.compute_output_shape((None, 11, 6)) == (None, 11, 8)


@pytest.mark.parametrize("use_bias", [False, True])
def test_matches_a_numpy_same_padded_convolution(use_bias, rng):
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    layer = ModalityProjection(8, use_bias=use_bias)
    layer.build(x.shape)
    reference.randomize_weights(layer)
    assert (layer.bias is not None) == use_bias
    expected = reference.conv1d_same(
        x.astype("float64"),
        reference.value(layer.kernel),
        reference.value(layer.bias),
    )
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-4, atol=1e-4)


def test_passes_the_keras_mask_on():
    layer = ModalityProjection(8)
    mask = np.array([[True, False, True]])
    x = np.zeros((1, 3, 4), "float32")
    np.testing.assert_array_equal(to_numpy(layer.compute_mask(x, mask)), mask)


def test_config_round_trip():
    layer = ModalityProjection(40, kernel_size=5, use_bias=True, name="audio_proj")
    config = layer.get_config()
    assert (config["hidden_dim"], config["kernel_size"], config["use_bias"]) == (
        40,
        5,
        True,
    )
    assert ModalityProjection.from_config(config).get_config() == config


def test_save_and_load_keras_file(tmp_path, rng):
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, ModalityProjection(8, name="proj")(inputs))
    reference.randomize_weights(model.get_layer("proj"))
    loaded = save_and_load(model, tmp_path)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )


def test_mixed_bfloat16_is_finite_and_close_to_float32(rng):
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    full = ModalityProjection(8)
    full.build(x.shape)
    mixed = ModalityProjection(8, dtype="mixed_bfloat16")
    mixed.build(x.shape)
    mixed.set_weights(full.get_weights())
    output = mixed(x)
    assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
    output = to_numpy(ops.cast(output, "float32"))
    assert np.isfinite(output).all()
    np.testing.assert_allclose(output, to_numpy(full(x)), atol=0.05)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden_dim": 0}, "hidden_dim must be a positive int"),
        ({"hidden_dim": 8, "kernel_size": 0}, "kernel_size must be a positive"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModalityProjection(**kwargs)


def test_wrong_rank_names_the_shape():
    with pytest.raises(ValueError, match=r"received shape \(2, 4\)"):
        ModalityProjection(8)(np.zeros((2, 4), "float32"))


def test_other_width_after_build_is_rejected():
    layer = ModalityProjection(8)
    layer.build((None, None, 4))
    with pytest.raises(ValueError, match=r"width 4.*received shape \(2, 5, 6\)"):
        layer(np.zeros((2, 5, 6), "float32"))
