"""`LinearWarmup`: the learning-rate warm-up UMDF trains with."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.optimizers import LinearWarmup
from keras_umdf.optimizers import check_learning_rate


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


@pytest.mark.parametrize("value", [0, -1e-3, float("nan"), True, "1e-3"])
def test_check_learning_rate_refuses_by_value(value):
    with pytest.raises(ValueError, match="learning_rate must be") as error:
        check_learning_rate(value)
    assert repr(value) in str(error.value)


@pytest.mark.parametrize("steps", [0, 1.5])
def test_the_schedule_needs_at_least_one_whole_step(steps):
    with pytest.raises(ValueError, match="warmup_steps"):
        LinearWarmup(1e-3, warmup_steps=steps)
