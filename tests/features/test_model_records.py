"""A model trained on extracted features records their extractors, keeps the
record in its .keras file, and refuses features from other extractors."""

import numpy as np
import pytest

import keras_umdf
from keras_umdf.data import MultimodalDataset
from keras_umdf.data import Split
from keras_umdf.experiments.model_file import check_model_fits_data

SPECS = (
    {"modality": "text", "name": "word_count", "version": "1", "width": 3},
    {"modality": "audio", "name": "ramp", "version": "1", "width": 2},
    {"modality": "vision", "name": "faces", "version": "2", "width": 4},
)


def dataset(specs=SPECS):
    rng = np.random.default_rng(0)
    widths = {s["modality"]: s["width"] for s in SPECS}
    split = Split(
        features={
            m: rng.normal(size=(4, 5, d)).astype("float32") for m, d in widths.items()
        },
        labels=rng.uniform(-3, 3, 4).astype("float32"),
        ids=np.arange(4).astype(str),
    )
    return MultimodalDataset({"train": split}, feature_extractors=specs)


@pytest.mark.only_backend("tensorflow", "jax")
def test_the_record_goes_from_the_data_to_the_saved_model(tmp_path):
    model = keras_umdf.UMDF.for_dataset(
        dataset(), hidden_dim=8, num_heads=2, num_layers=1
    )
    assert model.feature_extractors == SPECS
    path = str(tmp_path / "model.keras")
    model.save(path)
    import keras

    loaded = keras.saving.load_model(path)
    assert loaded.feature_extractors == SPECS
    check_model_fits_data(loaded, dataset())  # the same extractors: accepted


@pytest.mark.only_backend("tensorflow")
@pytest.mark.parametrize(
    "specs, message",
    [
        (SPECS[:2] + ({**SPECS[2], "version": "3"},), "vision: faces v3"),
        (None, "no recorded extractor"),
    ],
    ids=["another_version", "no_record"],
)
def test_features_from_other_extractors_are_refused(specs, message):
    model = keras_umdf.UMDF.for_dataset(
        dataset(), hidden_dim=8, num_heads=2, num_layers=1
    )
    with pytest.raises(ValueError, match=message):
        check_model_fits_data(model, dataset(specs))


@pytest.mark.only_backend("tensorflow")
def test_a_model_without_a_record_takes_any_features_of_its_widths():
    model = keras_umdf.UMDF.for_dataset(
        dataset(None), hidden_dim=8, num_heads=2, num_layers=1
    )
    assert model.feature_extractors is None
    assert "feature_extractors" not in model.get_config()
    check_model_fits_data(model, dataset())


@pytest.mark.only_backend("tensorflow")
def test_a_bad_record_is_refused_with_the_received_value():
    with pytest.raises(ValueError, match="feature_extractors must be a list of dicts"):
        keras_umdf.UMDF(
            {"text": 3, "audio": 2, "vision": 4}, feature_extractors=[{"name": "x"}]
        )
