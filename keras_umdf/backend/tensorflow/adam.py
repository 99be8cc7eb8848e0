"""Adam's update as one TensorFlow op per variable (`ResourceApplyAdam`).

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

`keras_umdf.optimizers.Adam` holds one `OneOpAdamUpdate` on TensorFlow
(`keras_umdf.backend.adam`) and hands it its moment variables as Keras creates
them, through the public `add_variable_from_reference` hook. Where the op does
not apply (a `tf.distribute` strategy, sparse gradients, `amsgrad`, a variable
without a resource handle, an update outside `apply`), `update` returns False
and the optimizer takes Keras's own update on the same variables.
"""

import contextlib

import keras
import tensorflow as tf

# The names Keras's Adam gives its moment variables.
MOMENT_NAMES = ("momentum", "velocity")


class OneOpAdamUpdate:
    """The one-op update of one Adam optimizer: its moments and step constants.

    A plain object (not tracked by Keras or TensorFlow): the moment variables
    it refers to are the optimizer's own, saved by it.
    """

    def __init__(self):
        # id of the model's tf.Variable -> (that variable, {name: moment}).
        self._moments = {}
        # While `step` runs: the step's constants by (dtype, graph); else None.
        self._constants = None

    def remember(self, name, reference_variable, variable) -> None:
        """Records `variable` as moment `name` of `reference_variable`, if it is
        one of Adam's moments (`MOMENT_NAMES`)."""
        if name not in MOMENT_NAMES:
            return
        model_variable = _tf_variable(reference_variable)
        _, moments = self._moments.setdefault(id(model_variable), (model_variable, {}))
        moments[name] = variable

    @contextlib.contextmanager
    def step(self):
        """The span of one `apply`, whose updates share the step's constants."""
        self._constants = {}
        try:
            yield
        finally:
            self._constants = None

    def update(self, optimizer, gradient, variable, learning_rate) -> bool:
        """Updates `variable` with `ResourceApplyAdam` where it applies.

        Args:
            optimizer: the `keras.optimizers.Adam` whose update this is (its
                `iterations`, `beta_1`, `beta_2`, `epsilon` are read).
            gradient, variable, learning_rate: `update_step`'s arguments.

        Returns:
            Whether `variable` was updated; False leaves everything unchanged.
        """
        entry = self._moments.get(id(variable))
        if (
            self._constants is None
            or entry is None
            or entry[0] is not variable
            or len(entry[1]) != len(MOMENT_NAMES)
            or optimizer.amsgrad
            or tf.distribute.has_strategy()
            or isinstance(gradient, tf.IndexedSlices)
            or not hasattr(variable, "handle")
        ):
            return False
        moments = entry[1]
        dtype = variable.dtype
        # By graph too: a `tf.cond` of gradient accumulation traces the update in
        # a graph of its own.
        key = (
            dtype,
            None if tf.executing_eagerly() else id(tf.compat.v1.get_default_graph()),
        )
        if key not in self._constants:
            # Read once per `apply`, before it increments `iterations`: the step
            # every variable's update of Keras's Adam sees.
            step = tf.cast(optimizer.iterations + 1, dtype)
            beta_1 = tf.cast(optimizer.beta_1, dtype)
            beta_2 = tf.cast(optimizer.beta_2, dtype)
            self._constants[key] = {
                "beta1_power": tf.pow(beta_1, step),
                "beta2_power": tf.pow(beta_2, step),
                "lr": tf.cast(learning_rate, dtype),
                "beta1": beta_1,
                "beta2": beta_2,
                "epsilon": tf.cast(optimizer.epsilon, dtype),
            }
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=_tf_variable(moments["momentum"]).handle,
            v=_tf_variable(moments["velocity"]).handle,
            grad=tf.cast(gradient, dtype),
            use_locking=False,
            **self._constants[key],
        )
        return True


def _tf_variable(variable):
    """The `tf.Variable` of a `keras.Variable` (what `update_step` receives on
    TensorFlow), or `variable` itself."""
    return variable.value if isinstance(variable, keras.Variable) else variable
