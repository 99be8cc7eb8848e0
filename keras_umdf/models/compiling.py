"""What UMDF's and SDUMC's `compile` share (private)."""

from __future__ import annotations

from keras_umdf import onednn
from keras_umdf import optimizers


def prepare_optimizer(model) -> None:
    """Creates the optimizer's variables of a built model now, eagerly.

    Keras creates the variables (Adam: two per trainable variable) when the
    training step is first traced, unless a `tf.distribute` strategy is
    active. TensorFlow traces a `tf.function` whose first trace creates
    variables a second time, so the whole two-view step would be traced
    twice. JAX and PyTorch build it before their first step
    anyway. Call it from `compile`, so that under a strategy or distribution
    the variables are created in its scope, as the model's were.

    The optimizer itself is used as given: nothing of it is changed.

    Also warns, once, when TensorFlow would train on the CPU without oneDNN's
    kernels because it was imported first (`keras_umdf.onednn.warn_if_off`).
    """
    onednn.warn_if_off()
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return
    if model.built and not optimizer.built:
        optimizer.build(model.trainable_variables)


def resolve_optimizer(optimizer):
    """The optimizer `compile` passes to Keras: "auto" is the warmed-up Adam
    (`keras_umdf.optimizers.adam`, whose update is one op per variable on
    TensorFlow); anything else is passed on as given."""
    if isinstance(optimizer, str) and optimizer == "auto":
        return optimizers.adam()
    return optimizer
