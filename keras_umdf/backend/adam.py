"""`keras_umdf.optimizers`' dispatch point: the backend's faster Adam update."""

import keras


def has_one_op_update() -> bool:
    """Whether this backend updates Adam faster than Keras does: TensorFlow.

    JAX compiles Keras's update with the step and PyTorch's Keras Adam updates
    all variables in one multi-tensor call, so Keras's own is the fast one there.
    """
    return keras.backend.backend() == "tensorflow"


def one_op_adam_update():
    """TensorFlow's one-op Adam update for a new optimizer, or None.

    A `keras_umdf.backend.tensorflow.adam.OneOpAdamUpdate` where
    `has_one_op_update()`, else None (the optimizer keeps Keras's update).
    """
    if not has_one_op_update():
        return None
    from keras_umdf.backend.tensorflow.adam import OneOpAdamUpdate

    return OneOpAdamUpdate()
