"""The TensorFlow end shared by the in-memory and the sharded tf.data pipelines:
epoch numbers, the masking of a batch (`BatchTransform`) and the parallel map.

Both pipelines mask alike, so a split streamed from shards gives the batches it
gives in memory. TensorFlow is imported when these are called.
"""

from __future__ import annotations

from keras_umdf.data.batch_contract import batch_labels_tf
from keras_umdf.data.condition_views import apply_condition_tf
from keras_umdf.data.random_streams import TRAIN_STREAM
from keras_umdf.data.view_sampler import ViewSampler


def stream_seed(seed: int, stream: int):
    """An int64 (2,) stateless seed for one random stream of a pipeline."""
    import tensorflow as tf

    return tf.constant([seed, stream], tf.int64)


def epoch_numbers(first_epoch: int = 0):
    """A dataset whose one element is `first_epoch` on its first iteration,
    `first_epoch + 1` on the next, ...

    The counter lives in a CPU variable owned by the dataset, so every new
    iteration (every `fit` epoch) sees the next epoch number: the pipelines key
    their shuffling and training masks by it, which gives fresh draws each epoch
    that depend on the seed alone (not on TensorFlow's global seed).
    """
    import tensorflow as tf

    with tf.device("/CPU:0"):
        counter = tf.Variable(
            first_epoch - 1, dtype=tf.int64, trainable=False, name="epoch"
        )

    def next_epoch(_):
        return counter.assign_add(1)

    return tf.data.Dataset.range(1).map(next_epoch)


class BatchTransform:
    """Turns a batch of raw arrays into the batch contract (TensorFlow graph ops).

    Shared by the in-memory and the sharded pipelines, so both mask alike.

    Args:
        modalities: modality names, in order.
        kind: label kind (see `label_kind`).
        training: two random views (True) or one view under `condition`.
        seed, condition, drop_rate, p_max: as `make_dataset`.
    """

    def __init__(
        self, modalities, kind, *, training, seed, condition, drop_rate, p_max
    ):
        self.modalities = tuple(modalities)
        self.kind = kind
        self.training = training
        self.seed = seed
        self.condition = condition
        self.drop_rate = drop_rate
        self.sampler = ViewSampler(self.modalities, p_max) if training else None

    def __call__(self, epoch, batch_index, features, labels, indices, lengths):
        import tensorflow as tf

        fold = tf.random.experimental.stateless_fold_in
        if self.training:
            seed = fold(fold(stream_seed(self.seed, TRAIN_STREAM), epoch), batch_index)
            x = self.sampler.apply_tf(features, seed, lengths)
        else:
            x = apply_condition_tf(
                features,
                self.condition,
                self.drop_rate,
                self.seed,
                indices=indices,
                lengths=lengths,
            )
        return x, batch_labels_tf(labels, self.kind)


def map_to_batches(
    dataset, to_batch, num_batches, num_parallel_calls, prefetch, deterministic
):
    """The common end of the tf.data pipelines: map batch indices to masked
    batches in parallel, declare the epoch's length, prefetch."""
    import tensorflow as tf

    autotune = tf.data.AUTOTUNE
    dataset = dataset.map(
        to_batch,
        num_parallel_calls=autotune
        if num_parallel_calls is None
        else num_parallel_calls,
        deterministic=deterministic,
    )
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(num_batches))
    dataset = dataset.prefetch(autotune if prefetch is None else prefetch)
    options = tf.data.Options()
    options.deterministic = deterministic
    return dataset.with_options(options)
