"""UMDF: argument validation and input checks."""

import pytest

from keras_umdf import UMDF
from tests.models.umdf_inputs import DIMS
from tests.models.umdf_inputs import random_view

# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(hidden_dim=30, num_heads=4),
            "hidden_dim=30 is not divisible by num_heads=4",
        ),
        (dict(task="ranking"), "task must be one of"),
        (
            dict(modality_dims={"text": 3, "speech": 4}),
            r"Unknown modality names \['speech'\]",
        ),
        (
            dict(modality_dims={"text": 3, "audio": 0}),
            r"modality_dims\['audio'\].*received 0",
        ),
        (dict(modality_dims={"text": 3}), "at least two modalities"),
        (dict(task="classification"), "num_classes"),
        (dict(lambda_fea=-1.0), "lambda_fea must be a finite number >= 0"),
        (dict(task_loss="crossentropy"), "does not fit task='regression'"),
        (dict(fusion="sum"), "fusion must be one of"),
        (dict(num_layers=0), "num_layers must be a positive int; received 0"),
        (dict(encoder_heads=7), "not divisible by encoder_heads=7"),
        (
            dict(distillation_warmup=-5),
            "distillation_warmup must be an int >= 0; received -5",
        ),
        (dict(distillation_warmup=2.5), "distillation_warmup must be an int"),
    ],
)
def test_constructor_validates_arguments(small_config, kwargs, message):
    with pytest.raises(ValueError, match=message):
        UMDF(**{**small_config, **kwargs})


def test_compile_refuses_a_loss(pair_config):
    with pytest.raises(ValueError, match="own objective"):
        UMDF(**pair_config).compile(optimizer="adam", loss="mse")


def test_wrong_inputs_name_the_problem(small_config, rng):
    model = UMDF(**small_config)
    view = random_view(rng, 2, dims={**DIMS, "audio": 7})
    with pytest.raises(ValueError, match=r"audio features have shape \(2, 5, 7\)"):
        model(view)
    view = random_view(rng, 2)
    del view["vision"]
    with pytest.raises(ValueError, match=r"Missing: \['vision'\]"):
        model(view)


def test_for_dataset_takes_inputs_and_outputs_from_the_dataset():
    from keras_umdf.data import synthetic

    data = synthetic(
        "iemocap",
        scale=0.02,
        sequence_length=6,
        modality_dims={"text": 5, "audio": 4, "vision": 3},
    )
    model = UMDF.for_dataset(data, hidden_dim=8, num_heads=2, num_layers=1)
    assert model.modality_dims == {"text": 5, "audio": 4, "vision": 3}
    assert (model.task, model.num_classes, model.multi_label) == (
        "classification",
        4,
        True,
    )
    with pytest.raises(ValueError, match="task='regression' contradicts"):
        UMDF.for_dataset(data, task="regression")
