"""`keras_umdf.optimizers.Adam` and `adam()`: Keras's Adam, one op per variable
on TensorFlow, the default of `compile`; an optimizer the user built is used as
given."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf import UMDF
from keras_umdf.optimizers import WARMUP_STEPS
from keras_umdf.optimizers import Adam
from keras_umdf.optimizers import adam
from tests.models.umdf_inputs import PAIR_CONFIG
from tests.models.umdf_inputs import regression_batch

TENSORFLOW = keras.backend.backend() == "tensorflow"
# What `adam()` and `compile()` choose: the one-op update on TensorFlow, Keras's
# own (multi-tensor on PyTorch, compiled on JAX) elsewhere.
DEFAULT = Adam if TENSORFLOW else keras.optimizers.Adam
SHAPES = [(3, 4), (4,), (2, 2, 2)]


def _apply_steps(cls, kwargs, *, traced, steps=5, loss_scaling=False):
    """Variables and optimizer state after `steps` updates with fixed gradients."""
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=s).astype("float32")) for s in SHAPES]
    gradients = [
        [rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(steps)
    ]
    optimizer = cls(**kwargs)
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(variables)

    def apply(grads):
        optimizer.apply(grads, variables)

    if traced:
        import tensorflow as tf

        apply = tf.function(apply)
    for step in gradients:
        apply([ops.convert_to_tensor(g) for g in step])
    state = [*variables, *optimizer.variables]
    return [ops.convert_to_numpy(v) for v in state]


SETTINGS = {
    "a schedule": {
        "learning_rate": keras.optimizers.schedules.ExponentialDecay(1e-2, 2, 0.5)
    },
    "clipnorm, weight decay": {
        "learning_rate": 3e-2,
        "clipnorm": 0.5,
        "weight_decay": 0.1,
    },
    "gradient accumulation, ema": {
        "learning_rate": 1e-2,
        "gradient_accumulation_steps": 2,
        "use_ema": True,
    },
    "amsgrad": {"learning_rate": 1e-2, "amsgrad": True},
    "loss scaling": {"learning_rate": 1e-2},
}
TRACED = [False, True] if TENSORFLOW else [False]


@pytest.mark.parametrize("traced", TRACED, ids=["eager", "tf.function"][: len(TRACED)])
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_update_agrees_with_keras_adam(name, traced):
    kwargs = dict(SETTINGS[name], name="adam")
    scaled = name == "loss scaling"
    if scaled and keras.backend.backend() == "jax":
        pytest.skip("Keras's LossScaleOptimizer applies statelessly only on JAX")
    expected = _apply_steps(
        keras.optimizers.Adam, kwargs, traced=traced, loss_scaling=scaled
    )
    received = _apply_steps(Adam, kwargs, traced=traced, loss_scaling=scaled)
    assert len(expected) == len(received)
    # TensorFlow's kernel computes 1 - beta_2 in float32 from float32(0.999):
    # 0.00099998713, where Keras has float32(1 - 0.999) = 0.001. The second
    # moments differ by 1.3e-5 relative, the variables by up to 1e-6 here.
    # Elsewhere the update is Keras's own: equal.
    for want, got in zip(expected, received, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)
    # The updates moved the variables: the comparison is not of initial values.
    initial = _apply_steps(Adam, kwargs, traced=traced, steps=0, loss_scaling=scaled)
    assert not np.allclose(received[0], initial[0])


def _traced_ops(optimizer):
    import tensorflow as tf

    variables = [keras.Variable(np.ones(s, "float32")) for s in SHAPES]
    optimizer.build(variables)
    graph = (
        tf.function(lambda g: optimizer.apply(g, variables))
        .get_concrete_function([tf.TensorSpec(s) for s in SHAPES])
        .graph
    )
    return [op.type for op in graph.get_operations()]


@pytest.mark.only_backend("tensorflow")
def test_the_traced_update_is_one_op_per_variable():
    fused = _traced_ops(Adam(1e-3))
    stock = _traced_ops(keras.optimizers.Adam(1e-3))
    assert fused.count("ResourceApplyAdam") == len(SHAPES)
    assert stock.count("ResourceApplyAdam") == 0
    # The betas' powers once per step, not once per variable.
    assert fused.count("Pow") == 2 and stock.count("Pow") == 2 * len(SHAPES)
    assert len(fused) < len(stock) / 2, (len(fused), len(stock))
    # Where the op does not apply, Keras's own update.
    assert _traced_ops(Adam(1e-3, amsgrad=True)).count("ResourceApplyAdam") == 0


@pytest.mark.only_backend("tensorflow")
def test_under_a_strategy_the_update_is_keras_own():
    # The one-op update needs a plain variable; under a tf.distribute strategy
    # the optimizer takes Keras's own update, so the weights come out equal.
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    weights = {}
    for cls in (Adam, keras.optimizers.Adam):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.compile(optimizer=cls(1e-2), loss="mse")
        for _ in range(3):
            model.train_on_batch(x, y)
        weights[cls] = model.get_weights()
    for want, got in zip(weights[keras.optimizers.Adam], weights[Adam], strict=True):
        np.testing.assert_array_equal(got, want)


def test_adam_builds_the_warmed_up_optimizer():
    optimizer = adam(2e-3)
    assert isinstance(optimizer, DEFAULT) and isinstance(optimizer, Adam) is TENSORFLOW
    schedule = optimizer.get_config()["learning_rate"]
    assert schedule["registered_name"] == "keras_umdf>LinearWarmup"
    assert schedule["config"] == {"learning_rate": 2e-3, "warmup_steps": WARMUP_STEPS}
    plain = adam(2e-3, warmup_steps=0)
    assert isinstance(plain, DEFAULT) and isinstance(plain, Adam) is TENSORFLOW
    rate = float(ops.convert_to_numpy(plain.learning_rate))
    assert math.isclose(rate, 2e-3, rel_tol=1e-6)
    # The same config as Keras's Adam: the arguments mean the same.
    keras_config = keras.optimizers.Adam(2e-3, name=plain.name).get_config()
    assert Adam(2e-3, name=plain.name).get_config() == keras_config


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


def test_an_optimizer_the_user_built_is_used_as_given():
    model = UMDF(**PAIR_CONFIG)
    optimizer = keras.optimizers.Adam(2e-3)
    config = optimizer.get_config()
    model.compile(optimizer=optimizer)
    assert model.optimizer is optimizer
    assert not isinstance(optimizer, Adam)
    assert not {"apply", "update_step"} & set(vars(optimizer))
    assert optimizer.get_config() == config
    model.compile(optimizer="adam")  # a name: Keras's optimizer
    assert not isinstance(model.optimizer, Adam)


def test_compile_defaults_to_the_warmed_up_adam_which_saves_and_loads_as_itself(
    rng, tmp_path
):
    keras.utils.set_random_seed(0)
    model = UMDF(**PAIR_CONFIG)
    model.compile()
    assert isinstance(model.optimizer, DEFAULT)
    assert isinstance(model.optimizer, Adam) is TENSORFLOW
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["config"] == {"learning_rate": 1e-3, "warmup_steps": WARMUP_STEPS}
    x, y = regression_batch(rng)
    for _ in range(2):
        model.train_on_batch(x, y)
    steps = int(ops.convert_to_numpy(model.optimizer.iterations))
    assert steps == 2
    # The rate of the next update, step `steps` (0-based).
    assert math.isclose(
        float(ops.convert_to_numpy(model.optimizer.learning_rate)),
        (steps + 1) / WARMUP_STEPS * 1e-3,
        rel_tol=1e-5,
    )
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config()["learning_rate"] == schedule
    for want, got in zip(
        model.optimizer.variables, loaded.optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(
            ops.convert_to_numpy(got), ops.convert_to_numpy(want)
        )
    # The loaded model goes on training like the original.
    expected = np.asarray(model.train_on_batch(x, y))
    received = np.asarray(loaded.train_on_batch(x, y))
    assert np.isfinite(received).all()
    np.testing.assert_allclose(received, expected, rtol=1e-4)
