"""The one-op Adam update of `compile` on TensorFlow agrees with Keras's Adam."""

import keras
import numpy as np
import pytest

from keras_umdf import UMDF
from keras_umdf.models.fused_adam import fuse_adam_updates
from keras_umdf.models.fused_adam import is_fused
from tests.models.umdf_inputs import regression_batch

TENSORFLOW = keras.backend.backend() == "tensorflow"
needs_tensorflow = pytest.mark.skipif(
    not TENSORFLOW, reason="the one-op update is TensorFlow's ResourceApplyAdam"
)
SHAPES = [(3, 4), (4,), (2, 2, 2)]


def _apply_steps(make_optimizer, fuse, *, traced, steps=5):
    """Variables and optimizer state after `steps` updates with fixed gradients."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=s).astype("float32")) for s in SHAPES]
    gradients = [
        [rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(steps)
    ]
    optimizer = make_optimizer()
    optimizer.build(variables)
    if fuse:
        assert fuse_adam_updates(optimizer)

    def apply(grads):
        optimizer.apply(grads, variables)

    if traced:
        apply = tf.function(apply)
    for step in gradients:
        apply([tf.constant(g) for g in step])
    state = [*variables, *optimizer.variables]
    return [keras.ops.convert_to_numpy(v) for v in state]


OPTIMIZERS = {
    "adam with a schedule": lambda: keras.optimizers.Adam(
        keras.optimizers.schedules.ExponentialDecay(1e-2, 2, 0.5)
    ),
    "adamw, clipnorm": lambda: keras.optimizers.AdamW(3e-2, clipnorm=0.5),
    "gradient accumulation, ema": lambda: keras.optimizers.Adam(
        1e-2, gradient_accumulation_steps=2, use_ema=True
    ),
    "loss scaling": lambda: keras.optimizers.LossScaleOptimizer(
        keras.optimizers.Adam(1e-2)
    ),
}


@needs_tensorflow
@pytest.mark.parametrize("traced", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_one_op_update_agrees_with_keras_adam(name, traced):
    expected = _apply_steps(OPTIMIZERS[name], False, traced=traced)
    received = _apply_steps(OPTIMIZERS[name], True, traced=traced)
    assert len(expected) == len(received)
    # TensorFlow's kernel computes 1 - beta_2 in float32 from float32(0.999):
    # 0.00099998713, where Keras has float32(1 - 0.999) = 0.001. The second
    # moments differ by 1.3e-5 relative, the variables by up to 1e-6 here.
    for want, got in zip(expected, received, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)
    # The updates moved the variables: the comparison is not of initial values.
    initial = _apply_steps(OPTIMIZERS[name], True, traced=traced, steps=0)
    assert not np.allclose(received[0], initial[0])


@needs_tensorflow
def test_traced_update_is_one_op_per_variable():
    import tensorflow as tf

    def count_ops(fuse):
        variables = [keras.Variable(np.ones(s, "float32")) for s in SHAPES]
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(variables)
        if fuse:
            fuse_adam_updates(optimizer)
        graph = (
            tf.function(lambda g: optimizer.apply(g, variables))
            .get_concrete_function([tf.TensorSpec(s) for s in SHAPES])
            .graph
        )
        return [op.type for op in graph.get_operations()]

    fused, stock = count_ops(True), count_ops(False)
    assert fused.count("ResourceApplyAdam") == len(SHAPES)
    assert stock.count("ResourceApplyAdam") == 0
    # The betas' powers once per step, not once per variable.
    assert fused.count("Pow") == 2 and stock.count("Pow") == 2 * len(SHAPES)
    assert len(fused) < len(stock) / 2, (len(fused), len(stock))


class _OwnUpdate(keras.optimizers.Adam):
    def update_step(self, gradient, variable, learning_rate):
        return super().update_step(gradient, variable, learning_rate)


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: keras.optimizers.Adam(amsgrad=True),
        lambda: keras.optimizers.SGD(),
        _OwnUpdate,
    ],
    ids=["amsgrad", "sgd", "subclass with its own update"],
)
def test_other_optimizers_keep_their_update(optimizer):
    optimizer = optimizer()
    assert not fuse_adam_updates(optimizer)
    assert not is_fused(optimizer)
    assert "update_step" not in vars(optimizer)


def test_umdf_compile_fuses_adam_on_tensorflow_only_and_keeps_keras_config(
    pair_config, rng, tmp_path
):
    model = UMDF(**pair_config)
    optimizer = keras.optimizers.Adam(2e-3)
    config = optimizer.get_config()
    model.compile(optimizer=optimizer)
    assert model.optimizer is optimizer
    assert is_fused(optimizer) is TENSORFLOW
    assert fuse_adam_updates(optimizer) is TENSORFLOW  # a second call is harmless
    assert optimizer.get_config() == config
    x, y = regression_batch(rng)
    model.train_on_batch(x, y)
    path = tmp_path / "umdf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, keras.optimizers.Adam)
    assert is_fused(loaded.optimizer) is TENSORFLOW
    for want, got in zip(optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want)
        )
    loss = loaded.train_on_batch(x, y)
    assert np.isfinite(loss).all()


def test_switch_keeps_keras_update(monkeypatch, pair_config):
    import keras_umdf.models.fused_adam as fused_adam

    monkeypatch.setattr(fused_adam, "ENABLED", False)
    model = UMDF(**pair_config)
    model.compile(optimizer="adam")
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert not is_fused(model.optimizer)
