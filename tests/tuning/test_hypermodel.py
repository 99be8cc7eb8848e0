"""The hypermodel: what each trial draws, builds and how a diverging trial ends."""

import math

import keras_tuner
import pytest

from tests.tuning.conftest import TINY_DIMS
from tests.tuning.conftest import TINY_MODEL
from tuning import SearchSpace
from tuning import UMDFHyperModel
from tuning.hypermodel import check_history
from tuning.hypermodel import lambda_values

pytestmark = pytest.mark.only_backend("torch")


def test_lambdas_are_log_scale_with_an_explicit_off_switch():
    hypermodel = UMDFHyperModel(TINY_DIMS, **TINY_MODEL)
    hp = keras_tuner.HyperParameters()
    hypermodel.model_arguments(hp)
    space = {p.name: p for p in hp.space}
    for name, switch in (
        ("lambda_fea", "fea_distillation"),
        ("lambda_logits", "logits_distillation"),
    ):
        assert isinstance(space[switch], keras_tuner.engine.hyperparameters.Boolean)
        assert space[name].sampling == "log"
        assert (space[name].min_value, space[name].max_value) == (0.01, 10.0)
        assert space[name].conditions  # active only when the switch is on
    assert space["learning_rate"].sampling == "log"
    assert isinstance(space["hidden_dim"], keras_tuner.engine.hyperparameters.Fixed)


def test_a_switched_off_lambda_builds_a_model_without_that_term():
    hypermodel = UMDFHyperModel(
        TINY_DIMS,
        search_space=SearchSpace(hidden_dim=(8, 16), learning_rate=(1e-4, 1e-2)),
        **{k: v for k, v in TINY_MODEL.items() if k != "hidden_dim"},
    )
    hp = keras_tuner.HyperParameters()
    hp.values.update(
        {
            "fea_distillation": False,
            "logits_distillation": True,
            "lambda_logits": 0.25,
            "learning_rate": 2e-3,
            "hidden_dim": 16,
        }
    )
    model = hypermodel.build(hp)
    assert (model.lambda_fea, model.lambda_logits, model.hidden_dim) == (0.0, 0.25, 16)
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "LinearWarmup"
    assert math.isclose(schedule["config"]["learning_rate"], 2e-3, rel_tol=1e-6)
    assert lambda_values(hp.values) == {"lambda_fea": 0.0, "lambda_logits": 0.25}
    assert "lambda_fea" not in hp.values  # inactive under the off switch


def test_without_lambda_off_every_trial_has_positive_lambdas():
    hypermodel = UMDFHyperModel(
        TINY_DIMS, search_space=SearchSpace(lambda_off=False), **TINY_MODEL
    )
    hp = keras_tuner.HyperParameters()
    hypermodel.model_arguments(hp)
    assert {"fea_distillation", "logits_distillation"}.isdisjoint(
        {p.name for p in hp.space}
    )
    oracle = keras_tuner.oracles.RandomSearchOracle(seed=3, hyperparameters=hp)
    for _ in range(20):
        values = oracle._random_values()
        assert (
            0.01 <= values["lambda_fea"] <= 10 and 0.01 <= values["lambda_logits"] <= 10
        )


def test_sizes_that_do_not_split_into_the_heads_are_refused_up_front():
    with pytest.raises(
        ValueError, match="hidden_dim=12 is not divisible by num_heads=8"
    ):
        UMDFHyperModel(
            TINY_DIMS, search_space=SearchSpace(hidden_dim=(8, 12)), num_heads=8
        )
    with pytest.raises(ValueError, match="also searches hidden_dim"):
        UMDFHyperModel(
            TINY_DIMS, search_space=SearchSpace(hidden_dim=(8,)), hidden_dim=8
        )
    with pytest.raises(ValueError, match="lambdas are searched"):
        UMDFHyperModel(TINY_DIMS, lambda_fea=1.0)
    with pytest.raises(ValueError, match="multi-label"):
        UMDFHyperModel(
            TINY_DIMS,
            task="classification",
            num_classes=4,
            multi_label=True,
            objective=__import__("tuning").TaskObjective("weighted_f1"),
        )


def test_a_diverging_history_fails_the_trial_and_a_missing_objective_is_fatal():
    check_history({"loss": [1.0, 0.5], "val_mae": [1.2, 1.1]}, "val_mae")
    with pytest.raises(
        keras_tuner.errors.FailedTrialError, match="loss is nan at epoch 2"
    ):
        check_history({"loss": [1.0, float("nan")], "val_mae": [1.2, 1.1]}, "val_mae")
    with pytest.raises(keras_tuner.errors.FailedTrialError, match="val_mae is inf"):
        check_history({"loss": [1.0], "val_mae": [float("inf")]}, "val_mae")
    with pytest.raises(keras_tuner.errors.FatalValueError, match="'val_mae' is not in"):
        check_history({"loss": [1.0], "val_loss": [1.0]}, "val_mae")
