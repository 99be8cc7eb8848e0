"""`reproduce`'s model arguments shared by every variant."""

import json

import pytest

from keras_umdf.data import synthetic
from keras_umdf.experiments import reproduction

# Bookkeeping only: no model is trained.
pytestmark = pytest.mark.only_backend("torch")


class _Stop(Exception):
    pass


@pytest.fixture
def data():
    return synthetic("mosi", scale=0.005, sequence_length=4)


def _first_unit_arguments(monkeypatch, tmp_path, data, variant, shared):
    """The `UMDF` arguments `reproduce` trains its first unit with."""
    seen = []

    def train_model(*args, model_arguments, **kwargs):
        seen.append(model_arguments)
        raise _Stop

    monkeypatch.setattr(reproduction, "train_model", train_model)
    with pytest.raises(_Stop):
        reproduction.reproduce(
            data,
            tmp_path / variant.replace("/", "-"),
            seeds=(0,),
            variants=(variant,),
            model_arguments=shared,
            rates=None,
            progress=None,
        )
    return seen[0]


def test_shared_arguments_reach_every_variant_and_the_variant_wins(
    monkeypatch, tmp_path, data
):
    shared = {"lambda_logits": 0.1, "dropout": 0.0}
    full = _first_unit_arguments(monkeypatch, tmp_path, data, "UMDF", shared)
    assert full == shared
    plain = _first_unit_arguments(
        monkeypatch, tmp_path, data, "w/o distillation", shared
    )
    assert plain == {"lambda_fea": 0.0, "lambda_logits": 0.0, "dropout": 0.0}
    record = json.loads((tmp_path / "UMDF" / "run.json").read_text())
    assert record["config"]["model_arguments"] == shared


def test_an_argument_umdf_does_not_take_is_refused_before_anything_is_written(
    tmp_path, data
):
    with pytest.raises(ValueError, match=r"\['lamda_logits'\].*UMDF does not take"):
        reproduction.reproduce(
            data,
            tmp_path / "run",
            seeds=(0,),
            variants=("UMDF",),
            model_arguments={"lamda_logits": 0.1},
            rates=None,
            progress=None,
        )
    assert not (tmp_path / "run").exists()
