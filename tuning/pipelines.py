"""The data pipelines of a search: tf.data on TensorFlow, NumPy on JAX and PyTorch.

Both give the batches of `keras_umdf.data.make_dataset` (the same masking
specification). On the JAX and PyTorch backends `MaskedPyDataset` builds the
batches in NumPy: for the in-memory splits of a search it is much faster than
feeding a tf.data pipeline to a non-TensorFlow backend (a tiny trial: under 1 s
against 2-3 s, and about 12 s for the first one, on the torch backend), and it
needs no TensorFlow.
"""

from __future__ import annotations

import keras


def use_tf_data() -> bool:
    """Whether the search feeds tf.data pipelines (the TensorFlow backend)."""
    return keras.backend.backend() == "tensorflow"


def training_pipeline(split, batch_size: int, seed: int):
    """Two-view training batches of `split`, reshuffled and re-masked each epoch."""
    if use_tf_data():
        from keras_umdf.data import make_dataset

        return make_dataset(split, training=True, batch_size=batch_size, seed=seed)
    from keras_umdf.data import MaskedPyDataset

    return MaskedPyDataset(split, training=True, batch_size=batch_size, seed=seed)


def evaluation_pipeline(split, batch_size: int, seed: int, condition: str = "lav"):
    """One-view batches of `split` under a test condition (default complete)."""
    if use_tf_data():
        from keras_umdf.data import make_dataset

        return make_dataset(
            split, training=False, batch_size=batch_size, seed=seed, condition=condition
        )
    from keras_umdf.data import MaskedPyDataset

    return MaskedPyDataset(
        split, training=False, batch_size=batch_size, seed=seed, condition=condition
    )
