"""The tf.data pipeline: batches of two masked views (training) or one view (testing).

The batch contract, shared by `make_dataset`, `make_dataset_from_shards` and
`MaskedPyDataset`, and consumed by `keras_umdf.UMDF`:

- A view V is a dict with, for each modality m present in the data ("text",
  "audio", "vision", and "pseudo_text" when the data has one), the features
  `V[m]`, float32 (B, T_m, d_m), where absent modalities and dropped frames are
  exactly zero, and the presence mask `V[m + "_mask"]`, float32 (B, T_m), 1.0
  where the frame is present.
- Training elements are `(x, y)` with `x = {"view_a": V, "view_b": V}`, two views
  with different modality sets (see `keras_umdf.data.masking`).
- Evaluation elements are `(x, y)` with `x = V`, one view under a fixed test
  condition and frame-drop rate.
- `y`: regression float32 (B, 1); single-label classification int32 (B,);
  multi-label classification int32 (B, K).

TensorFlow is imported when a pipeline is built, not when this module is imported.
"""

from __future__ import annotations

import numpy as np

from keras_umdf.argument_validation import check_int
from keras_umdf.data.masking import SHUFFLE_STREAM
from keras_umdf.data.masking import TRAIN_STREAM
from keras_umdf.data.masking import ViewSampler
from keras_umdf.data.masking import apply_condition_tf
from keras_umdf.data.masking import check_rate
from keras_umdf.data.masking import check_seed
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import condition_modalities

LABEL_KINDS = ("regression", "classification", "multi_label")


def label_kind(labels: np.ndarray) -> str:
    """How a split's labels are batched: "regression", "classification" or
    "multi_label".

    Floating labels (N,) are regression scores; integer labels (N,) are class
    indices; integer labels (N, K) are multi-label presence flags. This is the
    form `MultimodalDataset` gives its splits.
    """
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.floating):
        if labels.ndim == 2 and labels.shape[1] == 1:
            return "regression"
        if labels.ndim == 1:
            return "regression"
    elif np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool:
        if labels.ndim == 1:
            return "classification"
        if labels.ndim == 2:
            return "multi_label"
    raise ValueError(
        "Labels must be float (N,) regression scores, int (N,) class indices or "
        f"int (N, K) multi-label flags; received dtype {labels.dtype} and shape "
        f"{labels.shape}. Build the split through MultimodalDataset to convert them."
    )


def batch_labels_np(labels: np.ndarray, kind: str) -> np.ndarray:
    """Labels in the batch contract: float32 (B, 1) or int32 (B,) / (B, K)."""
    if kind == "regression":
        return np.asarray(labels, np.float32).reshape(-1, 1)
    return np.asarray(labels).astype(np.int32)


def batch_labels_tf(labels, kind: str):
    """`batch_labels_np` as TensorFlow ops."""
    import tensorflow as tf

    if kind == "regression":
        return tf.reshape(tf.cast(labels, tf.float32), [-1, 1])
    return tf.cast(labels, tf.int32)


def ordered_modalities(names) -> tuple[str, ...]:
    """Modality names in the order text, audio, vision, then others sorted."""
    names = list(names)
    return tuple(
        [m for m in MODALITIES if m in names] + sorted(set(names) - set(MODALITIES))
    )


def prepare_split(split) -> tuple[dict, np.ndarray, dict, str]:
    """Checks a `Split` and returns (features, labels, lengths, label kind).

    Features are float32 arrays in modality order; lengths is a (possibly empty)
    dict of int32 arrays.
    """
    if isinstance(split, MultimodalDataset):
        raise TypeError(
            "make_dataset takes one split, not a whole MultimodalDataset; pass "
            f"e.g. data['train'] (this dataset has splits {sorted(split.splits)})."
        )
    if not isinstance(split, Split):
        raise TypeError(
            "Expected a keras_umdf.data.Split (e.g. data['train'] of a "
            f"MultimodalDataset); received {type(split).__name__}."
        )
    if not split.features:
        raise ValueError("The split has no modality arrays; received features={}.")
    labels = np.asarray(split.labels)
    num = labels.shape[0] if labels.ndim else 0
    if num == 0:
        raise ValueError("The split is empty (0 labels); it needs at least one sample.")
    features = {}
    for modality in ordered_modalities(split.features):
        array = split.features[modality]
        if np.ndim(array) != 3 or array.shape[0] != num:
            raise ValueError(
                f"{modality!r} features must be (N, T, d) with N = {num} labels; "
                f"received shape {np.shape(array)}."
            )
        if not isinstance(array, np.memmap):
            array = np.asarray(array, dtype=np.float32)
        elif array.dtype != np.float32:
            raise ValueError(
                f"Memory-mapped {modality!r} features must be float32; received "
                f"{array.dtype}."
            )
        features[modality] = array
    lengths = {}
    for modality, values in (split.lengths or {}).items():
        values = np.asarray(values).astype(np.int32)
        if modality not in features or values.shape != (num,):
            raise ValueError(
                f"lengths[{modality!r}] must be ({num},) for a modality in "
                f"{sorted(features)}; received shape {values.shape}."
            )
        lengths[modality] = values
    kind = label_kind(labels)
    if kind == "regression":
        labels = labels.reshape(num).astype(np.float32)
    else:
        labels = labels.astype(np.int32)
    return features, labels, lengths, kind


def check_pipeline_args(
    *, training, batch_size, seed, condition, drop_rate, p_max, shuffle
) -> tuple[int, int, float, float, bool]:
    """Validates the arguments shared by the pipelines; returns them normalised."""
    batch_size = check_int("batch_size", batch_size)
    seed = check_seed(seed)
    condition_modalities(condition)
    drop_rate = check_rate(
        "drop_rate", drop_rate, " It is the evaluation frame-drop rate (1.0 drops all)."
    )
    p_max = check_rate(
        "p_max", p_max, " It is the largest training frame-drop rate (default 0.5)."
    )
    if training and (sorted(condition.lower()) != sorted("lav") or drop_rate != 0.0):
        raise ValueError(
            "condition and drop_rate set the evaluation views; training views are "
            f"drawn at random (p_max sets their frame drop). Received "
            f"condition={condition!r}, drop_rate={drop_rate} with training=True; "
            "leave them at their defaults or pass training=False."
        )
    shuffle = bool(training) if shuffle is None else bool(shuffle)
    return batch_size, seed, drop_rate, p_max, shuffle


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


def make_dataset(
    split: Split,
    *,
    training: bool,
    batch_size: int,
    seed: int = 0,
    condition: str = "lav",
    drop_rate: float = 0.0,
    p_max: float = 0.5,
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
