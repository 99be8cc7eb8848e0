"""The tf.data pipeline: batches of two masked views (training) or one view (testing).

The batches follow the contract of `keras_umdf.data.batch_contract`, shared by
`make_dataset`, `make_dataset_from_shards` and `MaskedPyDataset`, and consumed
by `keras_umdf.UMDF`: training elements are `(x, y)` with
`x = {"view_a": V, "view_b": V}`, evaluation elements `(x, y)` with `x = V`.

TensorFlow is imported when a pipeline is built, not when this module is imported.
"""

from __future__ import annotations

import numpy as np

from keras_umdf.argument_validation import check_int
from keras_umdf.data.batch_contract import check_pipeline_args
from keras_umdf.data.batch_contract import prepare_split
from keras_umdf.data.batch_transform import BatchTransform
from keras_umdf.data.batch_transform import epoch_numbers
from keras_umdf.data.batch_transform import map_to_batches
from keras_umdf.data.batch_transform import stream_seed
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.data.random_streams import SHUFFLE_STREAM
from keras_umdf.modalities import DEFAULT_P_MAX


def make_dataset(
    split: Split,
    *,
    training: bool,
    batch_size: int,
    seed: int = 0,
    condition: str = "lav",
    drop_rate: float = 0.0,
    p_max: float = DEFAULT_P_MAX,
    shuffle: bool | None = None,
    deterministic: bool = True,
    cache: bool = True,
    drop_remainder: bool = False,
    num_parallel_calls: int | None = None,
    prefetch: int | None = None,
    first_epoch: int = 0,
):
    """A `tf.data.Dataset` of masked batches of one split, for `model.fit` on any
    backend.

    Training batches carry two views per sample with different modality sets and
    random frame drops (design decision 4, docs/design-decisions.md), drawn in the graph with
    `tf.random.stateless_*` ops keyed by (seed, epoch, batch index): every
    iteration of the dataset (every `fit` epoch) gets a fresh shuffle and fresh
    masks, and the same seed gives the same sequence of epochs whatever
    TensorFlow's global seed. (Epochs are counted per iteration; `fit` may start
    one extra iteration to build a model that is not built yet.) Evaluation batches apply one test condition and
    frame-drop rate, keyed by (seed, modality, sample index): the same on every
    iteration, whatever the batch size or backend.

    Batch contract: training elements are `(x, y)` with
    `x = {"view_a": V, "view_b": V}`; evaluation elements are `(x, y)` with
    `x = V`. A view V holds, for each modality m of the split, `V[m]` float32
    (B, T_m, d_m) and `V[m + "_mask"]` float32 (B, T_m) (1.0 = frame present);
    absent modalities and dropped frames are exactly zero, and so are frames at or
    beyond a sample's `split.lengths`. `y` is float32 (B, 1) for regression, int32
    (B,) for class indices, int32 (B, K) for multi-label flags (the label form is
    read from the split's labels: float (N,) scores, int (N,) or int (N, K)).

    Args:
        split: a `Split`, e.g. `data["train"]` of a `MultimodalDataset`.
        training: two random views per sample (True) or one view under
            `condition` (False).
        batch_size: samples per batch.
        seed: non-negative int; the shuffle and every mask derive from it.
        condition: evaluation only: the present modalities, letters of "lav" in
            any order (e.g. "la" removes vision; these never keep a
            "pseudo_text" stream), or "text_missing" (audio, vision and the
            pseudo text) or "all_streams" (everything: SDUMC's training
            batches, with `shuffle=True`).
        drop_rate: evaluation only: frame-drop rate p in [0, 1] within the
            present modalities (1.0 zeroes everything).
        p_max: training only: each view drops frames at a rate p ~ U[0, p_max].
        shuffle: shuffle the samples, anew each epoch; default `training`.
        deterministic: keep the batch order fixed when batches are prepared in
            parallel (masks never depend on it).
        cache: hold the split's arrays as TensorFlow tensors (one more copy of
            the split in memory, fastest). False gathers each batch from the
            NumPy arrays instead, which keeps memory-mapped arrays
            (`np.load(..., mmap_mode="r")`) on disk.
        drop_remainder: drop the last batch if it is smaller than `batch_size`.
        num_parallel_calls: batches prepared in parallel; default autotuned.
        prefetch: batches prefetched; default autotuned.
        first_epoch: the epoch number of the first iteration (training, or
            `shuffle=True`): a run resumed after k finished epochs passes k, so
            that its next epoch draws epoch k's shuffle and masks, exactly those
            an uninterrupted run would have drawn.

    Returns:
        A `tf.data.Dataset` of `(x, y)` with a known number of batches.

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosi", seed=0)
    train = make_dataset(data["train"], training=True, batch_size=128, seed=0)
    test_la = make_dataset(data["test"], training=False, batch_size=128,
                           condition="la", drop_rate=0.2, seed=0)
    model.fit(train, epochs=10)
    model.evaluate(test_la)
    ```
    """
    try:
        import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            "make_dataset builds a tf.data pipeline and needs TensorFlow; without "
            "it use keras_umdf.data.MaskedPyDataset, which takes the same "
            "arguments and gives the same batches."
        ) from error

    batch_size, seed, drop_rate, p_max, shuffle = check_pipeline_args(
        training=training,
        batch_size=batch_size,
        seed=seed,
        condition=condition,
        drop_rate=drop_rate,
        p_max=p_max,
        shuffle=shuffle,
    )
    first_epoch = check_int("first_epoch", first_epoch, minimum=0)
    features, labels, lengths, kind = prepare_split(split)
    modalities = tuple(features)
    num = labels.shape[0]
    transform = BatchTransform(
        modalities,
        kind,
        training=training,
        seed=seed,
        condition=condition,
        drop_rate=drop_rate,
        p_max=p_max,
    )
    num_batches = num // batch_size if drop_remainder else -(-num // batch_size)
    if num_batches == 0:
        raise ValueError(
            f"The split has {num} samples, fewer than batch_size={batch_size}, and "
            "drop_remainder=True would give no batch; lower batch_size or pass "
            "drop_remainder=False."
        )
    gather = _gather_fn(features, labels, lengths, cache)

    def epoch_indices(epoch):
        order = tf.range(num, dtype=tf.int64)
        if shuffle:
            seed_e = tf.random.experimental.stateless_fold_in(
                stream_seed(seed, SHUFFLE_STREAM), epoch
            )
            order = tf.random.experimental.stateless_shuffle(order, seed=seed_e)
        batches = tf.data.Dataset.from_tensor_slices(order).batch(
            batch_size, drop_remainder=drop_remainder
        )
        return batches.enumerate().map(lambda i, idx: (epoch, i, idx))

    if training or shuffle:
        dataset = epoch_numbers(first_epoch).flat_map(epoch_indices)
    else:
        dataset = epoch_indices(tf.constant(0, tf.int64))

    def to_batch(epoch, batch_index, indices):
        batch_features, batch_labels, batch_lengths = gather(indices)
        return transform(
            epoch, batch_index, batch_features, batch_labels, indices, batch_lengths
        )

    return map_to_batches(
        dataset, to_batch, num_batches, num_parallel_calls, prefetch, deterministic
    )


def _gather_fn(features, labels, lengths, cache):
    """A graph function indices (B,) -> (features, labels, lengths) of the batch."""
    import tensorflow as tf

    modalities = tuple(features)
    length_names = tuple(lengths)
    if cache:
        with tf.device("/CPU:0"):
            tensors = {m: tf.constant(x) for m, x in features.items()}
            label_tensor = tf.constant(labels)
            length_tensors = {m: tf.constant(v) for m, v in lengths.items()}

        def gather(indices):
            return (
                {m: tf.gather(x, indices) for m, x in tensors.items()},
                tf.gather(label_tensor, indices),
                {m: tf.gather(v, indices) for m, v in length_tensors.items()},
            )

        return gather

    def gather_np(indices):
        order = np.argsort(indices)
        sorted_indices = indices[order]
        inverse = np.argsort(order)
        out = [
            np.asarray(features[m][sorted_indices], np.float32)[inverse]
            for m in modalities
        ]
        out.append(labels[indices])
        out.extend(lengths[m][indices] for m in length_names)
        return tuple(out)

    tout = [tf.float32] * len(modalities) + [tf.as_dtype(labels.dtype)]
    tout += [tf.int32] * len(length_names)

    def gather(indices):
        out = tf.numpy_function(gather_np, [indices], tout, stateful=False)
        batch_features = {}
        for m, x in zip(modalities, out, strict=False):
            x.set_shape([None, *features[m].shape[1:]])
            batch_features[m] = x
        batch_labels = out[len(modalities)]
        batch_labels.set_shape([None, *labels.shape[1:]])
        batch_lengths = {}
        for m, v in zip(length_names, out[len(modalities) + 1 :], strict=False):
            v.set_shape([None])
            batch_lengths[m] = v
        return batch_features, batch_labels, batch_lengths

    return gather
