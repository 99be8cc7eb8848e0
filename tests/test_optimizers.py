"""`keras_umdf.optimizers`: the warmed-up Adam that UMDF trains with."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_umdf
from keras_umdf.data import make_dataset
from keras_umdf.data import synthetic
from keras_umdf.optimizers import WARMUP_STEPS
from keras_umdf.optimizers import LinearWarmup
from keras_umdf.optimizers import adam

TINY = {"hidden_dim": 8, "num_heads": 2, "num_layers": 1, "dropout": 0.0}


def _rate(schedule, step):
    return float(ops.convert_to_numpy(schedule(step)))


def test_the_rate_rises_linearly_then_stays():
    schedule = LinearWarmup(2e-3, warmup_steps=4)
    got = [_rate(schedule, step) for step in range(7)]
    np.testing.assert_allclose(
        got, [5e-4, 1e-3, 1.5e-3, 2e-3, 2e-3, 2e-3, 2e-3], rtol=1e-6
    )


def test_the_schedule_round_trips_through_its_config():
    schedule = LinearWarmup(3e-4, warmup_steps=7)
    copy = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(schedule)
    )
    assert isinstance(copy, LinearWarmup)
    assert (copy.learning_rate, copy.warmup_steps) == (3e-4, 7)


def test_adam_without_warmup_is_the_plain_optimizer():
    optimizer = adam(2e-3, warmup_steps=0)
    assert isinstance(optimizer, keras.optimizers.Adam)
    rate = float(ops.convert_to_numpy(optimizer.learning_rate))
    assert math.isclose(rate, 2e-3, rel_tol=1e-6)
    schedule = adam(2e-3).get_config()["learning_rate"]
    assert schedule["registered_name"] == "keras_umdf>LinearWarmup"
    assert schedule["config"] == {"learning_rate": 2e-3, "warmup_steps": WARMUP_STEPS}


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"learning_rate": 0.0}, "received 0.0"),
        ({"learning_rate": float("nan")}, "received nan"),
        ({"learning_rate": float("inf")}, "received inf"),
        ({"learning_rate": "1e-3"}, "received '1e-3'"),
        ({"learning_rate": 1e-3, "warmup_steps": -1}, "received -1"),
        ({"learning_rate": 1e-3, "warmup_steps": 2.5}, "received 2.5"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, fragment):
    with pytest.raises(ValueError, match="must be") as error:
        adam(**kwargs)
    assert fragment in str(error.value)


def test_compile_defaults_to_the_warmed_up_adam_and_it_is_saved(tmp_path):
    data = synthetic("mosi", scale=0.03)
    keras.utils.set_random_seed(0)
    model = keras_umdf.UMDF.for_dataset(data, **TINY)
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["config"] == {"learning_rate": 1e-3, "warmup_steps": WARMUP_STEPS}
    train = make_dataset(data["train"], training=True, batch_size=32, seed=0)
    model.fit(train, epochs=1, verbose=0)
    steps = int(ops.convert_to_numpy(model.optimizer.iterations))
    assert steps > 0
    # The rate of the next update, step `steps` (0-based).
    expected = min(1.0, (steps + 1) / WARMUP_STEPS) * 1e-3
    assert math.isclose(
        float(ops.convert_to_numpy(model.optimizer.learning_rate)),
        expected,
        rel_tol=1e-5,
    )
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.optimizer.get_config()["learning_rate"] == schedule
    assert int(ops.convert_to_numpy(loaded.optimizer.iterations)) == steps
