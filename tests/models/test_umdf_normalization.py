"""UMDF's input normalisation (`normalize_inputs`) and its logged loss terms."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_umdf
from keras_umdf.data import make_dataset
from keras_umdf.data import synthetic

TINY = {"hidden_dim": 8, "num_heads": 2, "num_layers": 1, "dropout": 0.0}


def _rescaled(split, scale, offset):
    """The split with every present frame's features as offset + scale * x."""
    features = {}
    for m, x in split.features.items():
        present = np.any(x != 0, axis=-1, keepdims=True)
        features[m] = np.where(present, offset[m] + scale[m] * x, 0).astype("float32")
    return features


@pytest.fixture(scope="module")
def data():
    return synthetic("mosi", scale=0.03, feature_style="real")


def test_predictions_do_not_depend_on_the_features_units(data):
    """Standardised inputs: a model fitted on features in other units (each
    dimension rescaled and shifted on the present frames) predicts the same."""
    rng = np.random.default_rng(0)
    dims = data.modality_dims
    scale = {m: rng.uniform(0.01, 300.0, d).astype("float32") for m, d in dims.items()}
    offset = {m: rng.normal(0, 50.0, d).astype("float32") for m, d in dims.items()}
    keras.utils.set_random_seed(0)
    model = keras_umdf.UMDF.for_dataset(data, normalize_inputs=True, **TINY)
    other = keras_umdf.UMDF.for_dataset(data, normalize_inputs=True, **TINY)
    other.set_weights(model.get_weights())
    other.adapt(_rescaled(data["train"], scale, offset))
    test = data["test"]
    expected = model.predict(dict(test.features), verbose=0)
    got = other.predict(_rescaled(test, scale, offset), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-3)
    # Without the normalisation the same change of units changes the answer.
    plain = keras_umdf.UMDF.for_dataset(data, **TINY)
    moved = plain.predict(_rescaled(test, scale, offset), verbose=0)
    assert np.abs(moved - plain.predict(dict(test.features), verbose=0)).max() > 0.1


def test_statistics_are_fitted_on_the_training_split_and_saved(data, tmp_path):
    model = keras_umdf.UMDF.for_dataset(data, normalize_inputs=True, **TINY)
    text = data["train"].features["text"]
    present = np.any(text != 0, axis=-1)
    np.testing.assert_allclose(
        ops.convert_to_numpy(model.normalizations["text"].mean),
        text[present].mean(axis=0),
        rtol=1e-4,
        atol=1e-5,
    )
    features = dict(data["test"].features)
    before = model.predict(features, verbose=0)
    path = str(tmp_path / "normalised.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.normalize_inputs and loaded.normalizations["audio"].adapted
    np.testing.assert_allclose(loaded.predict(features, verbose=0), before, atol=1e-6)


def test_adapt_needs_the_normalisation_and_every_modality(data):
    plain = keras_umdf.UMDF.for_dataset(data, **TINY)
    with pytest.raises(ValueError, match="normalize_inputs=True"):
        plain.adapt(data["train"])
    model = keras_umdf.UMDF.for_dataset(data, normalize_inputs=True, **TINY)
    fitted = ops.convert_to_numpy(model.normalizations["text"].mean)
    shifted = data["train"].features["text"] + 5.0
    with pytest.raises(ValueError, match=r"every modality.*missing \['audio'"):
        model.adapt({"text": shifted, "vision": data["train"].features["vision"]})
    # A refused call fits nothing, not even the modalities it was given.
    np.testing.assert_array_equal(
        ops.convert_to_numpy(model.normalizations["text"].mean), fitted
    )
    with pytest.raises(ValueError, match="normalize_inputs must be True or False"):
        keras_umdf.UMDF.for_dataset(data, normalize_inputs="yes", **TINY)


@pytest.mark.slow
def test_logged_loss_is_the_weighted_sum_of_its_terms(data):
    """Batches of unequal size (the last one smaller) weigh the same in the
    total and in its parts."""
    keras.utils.set_random_seed(2)
    model = keras_umdf.UMDF.for_dataset(
        data, lambda_fea=0.7, lambda_logits=1.3, supervise_logits=True, **TINY
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    train = data["train"]
    assert train.num_samples % 16, "the test needs a smaller last batch"
    history = model.fit(
        make_dataset(train, training=True, batch_size=16, seed=0), epochs=2, verbose=0
    ).history
    for epoch in range(2):
        parts = (
            history["task_loss"][epoch]
            + history["logits_task_loss"][epoch]
            + 0.7 * history["fea_loss"][epoch]
            + 1.3 * history["logits_loss"][epoch]
        )
        np.testing.assert_allclose(history["loss"][epoch], parts, rtol=1e-5)
