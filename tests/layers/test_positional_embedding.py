import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers import PositionalEmbedding
from tests.layers import reference
from tests.layers.reference import to_numpy
from tests.layers.saving import save_and_load

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)


@pytest.mark.parametrize("width", [8, 7])
def test_matches_the_sinusoid_formula_for_even_and_odd_width(width, rng):
    inputs = rng.normal(size=(2, 6, width)).astype("float32")
    output = to_numpy(PositionalEmbedding()(inputs))
    expected = inputs + reference.positional_embedding(6, width)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)


def test_max_wavelength_sets_the_frequencies():
    inputs = np.zeros((1, 5, 8), "float32")
    output = to_numpy(PositionalEmbedding(max_wavelength=100)(inputs))
    expected = reference.positional_embedding(5, 8, max_wavelength=100.0)
    np.testing.assert_allclose(output[0], expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(expected, reference.positional_embedding(5, 8), atol=1e-3)


def test_any_length_after_build_gives_a_prefix_of_the_same_embedding():
    layer = PositionalEmbedding()
    layer.build((None, None, 8))
    short = to_numpy(layer(np.zeros((1, 3, 8), "float32")))
    long = to_numpy(layer(np.zeros((2, 7, 8), "float32")))
    assert short.shape == (1, 3, 8) and long.shape == (2, 7, 8)
    np.testing.assert_allclose(short[0], long[1, :3], atol=1e-7)
    assert layer.compute_output_shape((None, 11, 8)) == (None, 11, 8)


def test_passes_the_keras_mask_on():
    layer = PositionalEmbedding()
    mask = np.array([[True, False, True]])
    inputs = np.zeros((1, 3, 8), "float32")
    np.testing.assert_array_equal(to_numpy(layer.compute_mask(inputs, mask)), mask)


def test_config_round_trip():
    layer = PositionalEmbedding(max_wavelength=500, name="pe")
    config = layer.get_config()
    assert config["max_wavelength"] == 500
    assert PositionalEmbedding.from_config(config).get_config() == config


def test_save_and_load_keras_file(tmp_path, rng):
    inputs = keras.Input((None, 8))
    model = keras.Model(inputs, PositionalEmbedding(max_wavelength=50)(inputs))
    loaded = save_and_load(model, tmp_path)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    expected = x + reference.positional_embedding(5, 8, max_wavelength=50.0)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-5)


def test_mixed_bfloat16_output_is_close_to_the_float32_embedding():
    output = PositionalEmbedding(dtype="mixed_bfloat16")(np.zeros((2, 6, 8), "float32"))
    assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
    output = to_numpy(ops.cast(output, "float32"))
    np.testing.assert_allclose(
        output[0], reference.positional_embedding(6, 8), atol=1e-2
    )


def test_invalid_max_wavelength():
    with pytest.raises(ValueError, match="max_wavelength must be positive"):
        PositionalEmbedding(max_wavelength=0)


def test_wrong_rank_names_the_shape():
    with pytest.raises(ValueError, match=r"received shape \(2, 8\)"):
        PositionalEmbedding()(np.zeros((2, 8), "float32"))


def test_other_width_after_build_is_rejected():
    layer = PositionalEmbedding()
    layer.build((None, None, 8))
    with pytest.raises(ValueError, match=r"built for \(batch, time, 8\).*\(2, 5, 6\)"):
        layer(np.zeros((2, 5, 6), "float32"))
