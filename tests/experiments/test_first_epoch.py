"""`make_dataset(first_epoch=k)`: a resumed run draws epoch k's shuffle and masks."""

import numpy as np
import pytest

from keras_umdf.data import make_dataset
from keras_umdf.data import synthetic

pytestmark = pytest.mark.tf_only


def epoch_arrays(dataset):
    """One iteration (one epoch) of a training dataset as NumPy arrays."""
    batches = list(dataset.as_numpy_iterator())
    return [
        np.concatenate([x[view][m] for x, _ in batches])
        for view in ("view_a", "view_b")
        for m in ("text", "text_mask", "audio_mask")
    ] + [np.concatenate([y for _, y in batches])]


def test_first_epoch_k_starts_with_the_draws_of_epoch_k():
    dims = {"text": 3, "audio": 2, "vision": 2}
    split = synthetic("mosi", scale=0.02, sequence_length=6, modality_dims=dims)[
        "train"
    ]
    fresh = make_dataset(split, training=True, batch_size=8, seed=5)
    epochs = [epoch_arrays(fresh) for _ in range(3)]
    resumed = make_dataset(split, training=True, batch_size=8, seed=5, first_epoch=2)
    for got, expected in zip(epoch_arrays(resumed), epochs[2], strict=True):
        np.testing.assert_array_equal(got, expected)
    # Epochs differ from one another, so the check above could fail.
    assert not np.array_equal(epochs[0][-1], epochs[2][-1])
    with pytest.raises(ValueError, match="first_epoch must be an int >= 0"):
        make_dataset(split, training=True, batch_size=8, first_epoch=-1)
