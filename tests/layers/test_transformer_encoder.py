import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers import TransformerEncoder
from tests.layers import reference
from tests.layers.gradients import gradients
from tests.layers.gradients import weighted_sum
from tests.layers.reference import to_numpy
from tests.layers.saving import save_and_load

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)

B, T, D = 3, 5, 8


@pytest.fixture
def data(rng):
    x = rng.normal(size=(B, T, D)).astype("float32")
    mask = np.ones((B, T), bool)
    mask[1, [1, 4]] = False
    mask[2] = False  # Row 2: every frame missing.
    return x, mask


def built_layer(**kwargs):
    layer = TransformerEncoder(num_heads=2, **kwargs)
    layer.build((None, None, D))
    reference.randomize_weights(layer)
    return layer


def test_output_shape_and_default_ffn_width(data):
    x, _ = data
    layer = TransformerEncoder(num_heads=2)
    assert tuple(layer(x).shape) == (B, T, D)
    assert tuple(layer.intermediate_dense.kernel.shape) == (D, 4 * D)
    assert layer.compute_output_shape((None, 9, D)) == (None, 9, D)
    layer = TransformerEncoder(num_heads=2, intermediate_dim=12)
    layer.build((None, None, D))
    assert tuple(layer.intermediate_dense.kernel.shape) == (D, 12)


def test_matches_numpy_reference_of_a_post_ln_encoder(data):
    x, mask = data
    layer = built_layer()
    np.testing.assert_allclose(
        to_numpy(layer(x)),
        reference.transformer_encoder(layer, x),
        rtol=1e-4,
        atol=1e-4,
    )
    output = to_numpy(layer(x, mask=mask))
    assert np.isfinite(output).all()
    np.testing.assert_allclose(
        output, reference.transformer_encoder(layer, x, mask), rtol=1e-4, atol=1e-4
    )


def test_gradients_are_finite_with_a_fully_masked_row(data):
    x, mask = data
    layer = built_layer()
    weights = np.random.default_rng(1).normal(size=(B, T, D)).astype("float32")
    grads = gradients(layer, lambda v: weighted_sum(layer(v, mask=mask), weights), [x])
    assert all(np.isfinite(g).all() for g in grads)
    assert np.abs(grads[0]).sum() > 0


def test_uses_the_keras_mask_of_its_input(data):
    x, mask = data
    x = x * mask[..., None]  # Missing frames are zero vectors.
    layer = built_layer()
    inputs = keras.Input((None, D))
    model = keras.Model(inputs, layer(keras.layers.Masking(0.0)(inputs)))
    np.testing.assert_allclose(
        model.predict(x, verbose=0),
        reference.transformer_encoder(layer, x, mask),
        rtol=1e-4,
        atol=1e-4,
    )


def test_dropout_acts_in_training_only(data):
    x, _ = data
    layer = built_layer(dropout=0.5)
    inference = reference.transformer_encoder(layer, x)
    np.testing.assert_allclose(
        to_numpy(layer(x, training=False)), inference, rtol=1e-4, atol=1e-4
    )
    assert not np.allclose(to_numpy(layer(x, training=True)), inference, atol=1e-3)


def test_config_round_trip():
    layer = TransformerEncoder(
        num_heads=4, intermediate_dim=16, dropout=0.2, activation="gelu", name="enc"
    )
    config = layer.get_config()
    for key, expected in {
        "num_heads": 4,
        "intermediate_dim": 16,
        "dropout": 0.2,
        "activation": "gelu",
    }.items():
        assert config[key] == expected
    assert TransformerEncoder.from_config(config).get_config() == config


def test_save_and_load_keras_file(data, tmp_path):
    x, mask = data
    inputs, mask_in = keras.Input((None, D)), keras.Input((None,))
    layer = TransformerEncoder(num_heads=2, name="encoder")
    model = keras.Model([inputs, mask_in], layer(inputs, mask=mask_in))
    reference.randomize_weights(layer)
    loaded = save_and_load(model, tmp_path)
    assert isinstance(loaded.get_layer("encoder"), TransformerEncoder)
    batch = [x, mask.astype("float32")]
    np.testing.assert_allclose(
        loaded.predict(batch, verbose=0), model.predict(batch, verbose=0), atol=1e-6
    )


def test_mixed_bfloat16_runs_softmax_in_float32(data, softmax_dtypes):
    x, mask = data
    full = built_layer()
    mixed = TransformerEncoder(num_heads=2, dtype="mixed_bfloat16")
    mixed.build((None, None, D))
    mixed.set_weights(full.get_weights())
    output = mixed(x, mask=mask)
    assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
    assert softmax_dtypes and set(softmax_dtypes) == {"float32"}
    output = to_numpy(ops.cast(output, "float32"))
    assert np.isfinite(output).all()
    np.testing.assert_allclose(output, to_numpy(full(x, mask=mask)), atol=0.15)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_heads": 0}, "num_heads must be a positive int"),
        ({"num_heads": 2, "intermediate_dim": 0}, "intermediate_dim must be"),
        ({"num_heads": 2, "dropout": -0.1}, r"dropout must be in \[0, 1\)"),
        ({"num_heads": 2, "activation": "no_such_activation"}, "no_such_activation"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TransformerEncoder(**kwargs)


def test_width_not_divisible_by_heads_names_the_shape():
    with pytest.raises(ValueError, match=r"width 8 \(shape \(None, 5, 8\)\).*=3"):
        TransformerEncoder(num_heads=3).build((None, 5, D))


def test_wrong_rank_names_the_shape():
    with pytest.raises(ValueError, match=r"received shape \(3, 8\)"):
        TransformerEncoder(num_heads=2)(np.zeros((B, D), "float32"))
