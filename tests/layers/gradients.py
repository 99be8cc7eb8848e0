"""Gradients on whichever backend runs, for the tests that need finite gradients."""

import keras
import numpy as np


def gradients(layer, loss_fn, inputs):
    """Gradients of `loss_fn(*inputs)` w.r.t. `inputs` and the layer's weights.

    Args:
        layer: a built layer; `loss_fn` must call it.
        loss_fn: function of the input tensors returning a scalar.
        inputs: list of float NumPy arrays.

    Returns:
        A list of NumPy arrays: one gradient per input, then one per trainable
        variable (zeros where the loss does not depend on it).
    """
    backend = keras.backend.backend()
    variables = layer.trainable_variables
    if backend == "tensorflow":
        import tensorflow as tf

        xs = [tf.constant(x) for x in inputs]
        with tf.GradientTape() as tape:
            tape.watch(xs)
            loss = loss_fn(*xs)
        grads = tape.gradient(loss, xs + [v.value for v in variables])
    elif backend == "jax":
        import jax

        def stateless_loss(values, xs):
            mapping = list(zip(variables, values, strict=True))
            with keras.StatelessScope(state_mapping=mapping):
                return loss_fn(*xs)

        values = [v.value for v in variables]
        xs = [jax.numpy.asarray(x) for x in inputs]
        value_grads, input_grads = jax.jit(jax.grad(stateless_loss, argnums=(0, 1)))(
            values, xs
        )
        grads = list(input_grads) + list(value_grads)
    elif backend == "torch":
        xs = [keras.ops.convert_to_tensor(x).requires_grad_(True) for x in inputs]
        for v in variables:
            v.value.grad = None
        loss_fn(*xs).backward()
        grads = [x.grad for x in xs] + [v.value.grad for v in variables]
    else:
        raise NotImplementedError(f"No gradient helper for backend {backend!r}.")
    targets = list(inputs) + [np.zeros(v.shape, "float32") for v in variables]
    return [
        np.zeros_like(t) if g is None else np.asarray(keras.ops.convert_to_numpy(g))
        for g, t in zip(grads, targets, strict=True)
    ]


def weighted_sum(outputs, weights):
    """A scalar loss that depends on every output element: sum(outputs * weights)."""
    outputs = keras.ops.cast(outputs, "float32")
    return keras.ops.sum(
        keras.ops.multiply(outputs, keras.ops.convert_to_tensor(weights))
    )
