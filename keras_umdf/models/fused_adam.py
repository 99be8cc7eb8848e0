"""Adam's update as one TensorFlow op per variable (TensorFlow backend only).

Keras's `Adam.update_step` builds about twenty ops per trainable variable
(powers of the betas, casts, the moment updates, the step). UMDF at the
paper's configuration has 477 variables, so the optimizer made half of the
traced training step (about 16,700 of its 33,006 ops) and of the time the
trace took (10.6 of 20.8 s). TensorFlow's `ResourceApplyAdam` kernel computes
the same update

    m += (g - m) * (1 - beta_1)
    v += (g^2 - v) * (1 - beta_2)
    var -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

in one op (forming 1 - beta_2 in float32 from float32(0.999): 0.00099998713
against Keras's 0.001, so the second moments differ by 1.3e-5 relative), and
the betas' powers are computed once per step rather than once per variable.
`UMDF.compile` and `SDUMC.compile` install it on the instance of a
`keras.optimizers.Adam` they are given (also one inside a
`LossScaleOptimizer`): its class, config, variables and saved files stay
Keras's, and it falls back to Keras's own update for anything else (a
`tf.distribute` strategy, sparse gradients, `amsgrad`, a subclass with its
own update, the JAX and PyTorch backends, whose steps are compiled or fused
already), and everywhere once `ENABLED` is set to False.
"""

from __future__ import annotations

import types

import keras

ENABLED = True
"""Set to False before `compile` to keep Keras's own Adam update everywhere."""

# The attribute of an optimizer instance that holds, while `apply` runs, the
# step's constants by variable dtype and graph (None outside `apply`).
_CONSTANTS = "_keras_umdf_adam_constants"


def fuse_adam_updates(optimizer) -> bool:
    """Installs the one-op Adam update on `optimizer` where it applies.

    Returns:
        Whether `optimizer` (or the optimizer a `LossScaleOptimizer` wraps)
        now updates with `ResourceApplyAdam`. Calling it again is harmless.
    """
    if not ENABLED or keras.backend.backend() != "tensorflow":
        return False
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return fuse_adam_updates(optimizer.inner_optimizer)
    if is_fused(optimizer):
        return True
    if not _is_plain_adam(optimizer):
        return False
    object.__setattr__(optimizer, _CONSTANTS, None)
    object.__setattr__(optimizer, "apply", types.MethodType(_apply, optimizer))
    object.__setattr__(
        optimizer, "update_step", types.MethodType(_update_step, optimizer)
    )
    return True


def is_fused(optimizer) -> bool:
    """Whether `fuse_adam_updates` installed the one-op update on `optimizer`."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return is_fused(optimizer.inner_optimizer)
    update_step = vars(optimizer).get("update_step")
    return getattr(update_step, "__func__", None) is _update_step


def _is_plain_adam(optimizer) -> bool:
    """A Keras Adam (or a subclass) with Keras's own update and `apply`."""
    cls = type(optimizer)
    return (
        isinstance(optimizer, keras.optimizers.Adam)
        and cls.update_step is keras.optimizers.Adam.update_step
        and cls.apply is keras.optimizers.Adam.apply
        and not optimizer.amsgrad
    )


def _apply(self, grads, trainable_variables=None):
    """Keras's `apply`, with the step's constants shared by its variables."""
    object.__setattr__(self, _CONSTANTS, {})
    try:
        return type(self).apply(self, grads, trainable_variables)
    finally:
        object.__setattr__(self, _CONSTANTS, None)


def _update_step(self, gradient, variable, learning_rate):
    import tensorflow as tf

    constants = getattr(self, _CONSTANTS)
    if (
        constants is None
        or tf.distribute.has_strategy()
        or isinstance(gradient, tf.IndexedSlices)
        or not hasattr(variable, "handle")
    ):
        return type(self).update_step(self, gradient, variable, learning_rate)
    dtype = variable.dtype
    # By graph too: a `tf.cond` of gradient accumulation traces the update in
    # a graph of its own.
    key = (
        dtype,
        None if tf.executing_eagerly() else id(tf.compat.v1.get_default_graph()),
    )
    if key not in constants:
        # Read once per `apply`, before it increments `iterations`: the step
        # every variable's update of Keras's Adam sees.
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        constants[key] = {
            "beta1_power": tf.pow(beta_1, step),
            "beta2_power": tf.pow(beta_2, step),
            "lr": tf.cast(learning_rate, dtype),
            "beta1": beta_1,
            "beta2": beta_2,
            "epsilon": tf.cast(self.epsilon, dtype),
        }
    index = self._get_variable_index(variable)
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle,
        m=self._momentums[index].value.handle,
        v=self._velocities[index].value.handle,
        grad=tf.cast(gradient, dtype),
        use_locking=False,
        **constants[key],
    )
