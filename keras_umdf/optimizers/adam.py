"""The optimizer UMDF trains with: the paper's Adam, its step size warmed up."""

import keras

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.backend.adam import has_one_op_update
from keras_umdf.backend.adam import one_op_adam_update
from keras_umdf.optimizers.linear_warmup import WARMUP_STEPS
from keras_umdf.optimizers.linear_warmup import LinearWarmup
from keras_umdf.optimizers.linear_warmup import check_learning_rate


@keras_umdf_export
class Adam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, its update one op per variable on TensorFlow.

    The same algorithm, arguments, config and variables as Keras's Adam (the
    same numbers, to float rounding); it saves and loads as itself
    (`keras_umdf>Adam`). On TensorFlow each variable is updated by one
    `ResourceApplyAdam` op, the betas' powers computed once per step, so the
    traced training step of UMDF has about half as many ops and traces about
    twice as fast (`keras_umdf.backend.tensorflow.adam`; TensorFlow forms
    1 - beta_2 in float32, so the second moments differ from Keras's by
    1.3e-5 relative). Where that op does not apply (a `tf.distribute`
    strategy, sparse gradients, `amsgrad`), the update is Keras's own.

    On JAX and PyTorch the update is Keras's generic one. There Keras's own
    `keras.optimizers.Adam` is the faster choice (on PyTorch one multi-tensor
    update for all variables, several times faster than an update per
    variable), and `adam()` builds that instead; a model saved with this
    class on TensorFlow loads and trains anywhere.

    `keras_umdf.optimizers.adam()` builds the optimizer of `UMDF.compile()`
    with the learning-rate warm-up. An optimizer you build yourself, such as
    `keras.optimizers.Adam` for Keras's own update on TensorFlow, is used as
    given.

    Args:
        *args, **kwargs: those of `keras.optimizers.Adam`.

    Example:

    ```python
    model.compile(optimizer=keras_umdf.optimizers.Adam(2e-3))
    ```
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._one_op_update = one_op_adam_update()

    def add_variable_from_reference(
        self, reference_variable, name=None, initializer="zeros"
    ):
        variable = super().add_variable_from_reference(
            reference_variable, name=name, initializer=initializer
        )
        if self._one_op_update is not None:
            self._one_op_update.remember(name, reference_variable, variable)
        return variable

    def apply(self, grads, trainable_variables=None):
        if self._one_op_update is None:
            return super().apply(grads, trainable_variables)
        with self._one_op_update.step():
            return super().apply(grads, trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        if self._one_op_update is None or not self._one_op_update.update(
            self, gradient, variable, learning_rate
        ):
            super().update_step(gradient, variable, learning_rate)


def adam(
    learning_rate: float = 1e-3, warmup_steps: int = WARMUP_STEPS
) -> keras.optimizers.Adam:
    """Adam at `learning_rate`, warmed up over `warmup_steps` (`LinearWarmup`).

    This is what `UMDF.compile()` and the `keras-umdf` commands use; with
    `warmup_steps=0` it is the paper's plain Adam. On TensorFlow it is
    `keras_umdf.optimizers.Adam` (one op per variable), on JAX and PyTorch
    `keras.optimizers.Adam`, the faster one there: the same update, and each
    saves and loads as itself.

    Raises:
        ValueError: `learning_rate` is not a positive finite number, or
            `warmup_steps` is negative.
    """
    learning_rate = check_learning_rate(learning_rate)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
    if warmup_steps:
        learning_rate = LinearWarmup(learning_rate, warmup_steps)
    if has_one_op_update():
        return Adam(learning_rate)
    return keras.optimizers.Adam(learning_rate)
