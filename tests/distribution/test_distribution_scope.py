"""distribution_scope: which engine each name opens, and the errors users see."""

import json

import keras
import pytest

import keras_umdf
from keras_umdf.distribution import STRATEGIES
from keras_umdf.distribution import distribution_scope
from keras_umdf.distribution import scale_loss_for_replicas

BACKEND = keras.backend.backend()
OTHER_BACKEND_STRATEGY = {
    "tensorflow": "data_parallel",
    "jax": "mirrored",
    "torch": "mirrored",
}


def test_is_exported_and_lists_the_strategies_of_the_cli():
    assert keras_umdf.distribution.distribution_scope is distribution_scope
    assert STRATEGIES == ("none", "mirrored", "multi_worker", "data_parallel")


@pytest.mark.parametrize("name", [None, "none", "None"])
def test_none_changes_nothing(name):
    with distribution_scope(name) as engine:
        assert engine is None
        if BACKEND == "jax":
            assert keras.distribution.distribution() is None
        if BACKEND == "tensorflow":
            import tensorflow as tf

            assert not tf.distribute.has_strategy()


@pytest.mark.parametrize("name", ["mirror", "ddp", 2])
def test_an_unknown_name_is_refused_with_the_choices(name):
    with pytest.raises(ValueError, match=r"Unknown distribution strategy") as error:
        with distribution_scope(name):
            pass
    message = str(error.value)
    assert repr(name) in message
    for choice in STRATEGIES:
        assert choice in message


def test_a_strategy_of_another_backend_names_the_backend_and_the_alternative():
    name = OTHER_BACKEND_STRATEGY[BACKEND]
    with pytest.raises(ValueError) as error:
        with distribution_scope(name):
            pass
    message = str(error.value)
    assert repr(name) in message and repr(BACKEND) in message
    alternative = {
        "tensorflow": "'mirrored'",
        "jax": "'data_parallel'",
        "torch": "no distributed training",
    }[BACKEND]
    assert alternative in message


@pytest.mark.only_backend("torch")
def test_torch_has_no_distribution_at_all():
    for name in ("mirrored", "multi_worker", "data_parallel"):
        with pytest.raises(ValueError, match="KERAS_BACKEND=jax with 'data_parallel'"):
            with distribution_scope(name):
                pass


@pytest.mark.tf_only
def test_mirrored_opens_a_strategy_that_fit_picks_up():
    import tensorflow as tf

    with distribution_scope("mirrored") as strategy:
        assert isinstance(strategy, tf.distribute.MirroredStrategy)
        assert tf.distribute.get_strategy() is strategy
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert not tf.distribute.has_strategy()
    # The model keeps its strategy, and the same name gives the same strategy,
    # so building and fitting may use separate scopes.
    assert model.distribute_strategy is strategy
    with distribution_scope("mirrored") as again:
        assert again is strategy


@pytest.mark.tf_only
def test_multi_worker_without_tf_config_explains_how_to_set_it(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG") as error:
        with distribution_scope("multi_worker"):
            pass
    assert '"task": {"type": "worker", "index": 0}' in str(error.value)
    assert "'mirrored' on one machine" in str(error.value)


@pytest.mark.tf_only
@pytest.mark.parametrize(
    "config",
    [
        "{not json",
        json.dumps({"cluster": {"worker": ["127.0.0.1:1"]}}),
        json.dumps(
            {
                "cluster": {"worker": ["127.0.0.1:1"]},
                "task": {"type": "worker", "index": 1},
            }
        ),
    ],
)
def test_multi_worker_rejects_a_malformed_tf_config(monkeypatch, config):
    monkeypatch.setenv("TF_CONFIG", config)
    with pytest.raises(ValueError, match="TF_CONFIG") as error:
        with distribution_scope("multi_worker"):
            pass
    assert repr(config) in str(error.value)


@pytest.mark.tf_only
def test_multi_worker_takes_no_devices():
    with pytest.raises(ValueError, match=r"devices=\['/gpu:0'\]"):
        with distribution_scope("multi_worker", devices=["/gpu:0"]):
            pass


@pytest.mark.only_backend("jax")
def test_data_parallel_is_the_global_distribution_inside_the_scope_only():
    assert keras.distribution.distribution() is None
    with pytest.raises(RuntimeError, match="inside"):
        with distribution_scope("data_parallel") as distribution:
            assert isinstance(distribution, keras.distribution.DataParallel)
            assert keras.distribution.distribution() is distribution
            assert distribution.device_mesh.devices.size == len(
                keras.distribution.list_devices()
            )
            raise RuntimeError("inside")
    # Restored even when the body raised.
    assert keras.distribution.distribution() is None


@pytest.mark.only_backend("jax")
def test_data_parallel_rejects_an_empty_device_list():
    with pytest.raises(ValueError, match=r"devices=\[\]"):
        with distribution_scope("data_parallel", devices=[]):
            pass


def test_loss_is_unscaled_without_replicas():
    loss = keras.ops.convert_to_tensor(2.5)
    assert scale_loss_for_replicas(loss) is loss
