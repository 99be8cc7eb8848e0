"""`check_int`, the integer check that the layers, models and data share."""

import json

import keras
import numpy as np
import pytest

from keras_umdf import UMDF
from keras_umdf.argument_validation import check_int
from keras_umdf.models import SDUMC


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_python_and_numpy_integers_pass_as_plain_ints(value):
    result = check_int("width", value)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize(
    "value, minimum, message",
    [
        (0, 1, "width must be a positive int; received 0."),
        (True, 1, "width must be a positive int; received True."),
        (2.0, 1, "width must be a positive int; received 2.0."),
        ("4", 1, "width must be a positive int; received '4'."),
        (None, 1, "width must be a positive int; received None."),
        (-1, 0, "width must be an int >= 0; received -1."),
        (np.int64(1), 2, "width must be an int >= 2; received np.int64(1)."),
    ],
)
def test_anything_else_is_refused_with_the_received_value(value, minimum, message):
    with pytest.raises(ValueError) as info:
        check_int("width", value, minimum)
    assert str(info.value) == message


def test_none_passes_only_where_it_has_a_meaning():
    assert check_int("key_dim", None, none_means="width // num_heads") is None
    with pytest.raises(ValueError) as info:
        check_int("key_dim", 0, none_means="width // num_heads")
    assert str(info.value) == (
        "key_dim must be a positive int, or None for width // num_heads; received 0."
    )


@pytest.mark.parametrize("model_class", [UMDF, SDUMC])
def test_models_take_numpy_integers_and_save_plain_ones(model_class):
    # Sizes read from a NumPy array (a results table, a sweep grid) used to pass
    # the model's check and then be refused by its layers.
    model = model_class(
        modality_dims={"text": 6, "audio": 4, "vision": 3},
        hidden_dim=np.int64(8),
        num_heads=np.int64(2),
        num_layers=np.int64(1),
        intermediate_dim=np.int32(16),
    )
    config = model.get_config()
    for key in ("hidden_dim", "num_heads", "num_layers", "intermediate_dim"):
        assert type(config[key]) is int, (key, type(config[key]))
    json.dumps(keras.saving.serialize_keras_object(model))


def test_a_classifier_takes_a_numpy_number_of_classes():
    model = UMDF(
        modality_dims={"text": 6, "audio": 4},
        hidden_dim=8,
        num_heads=2,
        num_layers=1,
        task="classification",
        num_classes=np.int64(3),
    )
    assert type(model.get_config()["num_classes"]) is int
    with pytest.raises(ValueError) as info:
        UMDF(modality_dims={"text": 6, "audio": 4}, task="classification")
    assert str(info.value) == (
        "num_classes (the number of classes for task='classification', or of "
        "labels with multi_label=True) must be an int >= 2; received None."
    )
