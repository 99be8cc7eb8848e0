"""Datasets larger than memory: TFRecord shards on disk, streamed through the pipeline."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable

import numpy as np

from keras_umdf.argument_validation import check_int
from keras_umdf.data.atomic_file import write_text_atomically
from keras_umdf.data.batch_contract import check_pipeline_args
from keras_umdf.data.batch_contract import prepare_split
from keras_umdf.data.batch_transform import BatchTransform
from keras_umdf.data.batch_transform import epoch_numbers
from keras_umdf.data.batch_transform import map_to_batches
from keras_umdf.data.batch_transform import stream_seed
from keras_umdf.data.json_index import read_json_index
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.data.random_streams import SHUFFLE_STREAM
from keras_umdf.modalities import DEFAULT_P_MAX

FORMAT = "keras_umdf.shards"
FORMAT_VERSION = 1
METADATA_FILE = "keras_umdf_shards.json"
"""The index of a shard set: shapes, widths, label form and the shard files."""
SHARD_PATTERN = re.compile(r"^shard-\d{5}\.tfrecord$")


def _shard_name(number: int) -> str:
    return f"shard-{number:05d}.tfrecord"


def read_shards_metadata(directory: str) -> dict:
    """Reads the JSON index that `write_shards` leaves in `directory`.

    Returns:
        dict with "num_samples", "modalities" (name -> {"sequence_length",
        "dim"}), "lengths" (modalities with valid lengths), "label_kind",
        "label_shape" and "shards" (list of {"file", "num_samples"}).
    """
    path = os.path.join(directory, METADATA_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No shard index {METADATA_FILE!r} in {directory!r}; write the shards "
            "with keras_umdf.data.write_shards(split, directory) first."
        )
    return read_json_index(path, FORMAT, FORMAT_VERSION, "keras_umdf shard index")


def _existing_shard_set(directory: str) -> list[str]:
    """Our files in `directory`: the index and files named like our shards."""
    if not os.path.isdir(directory):
        return []
    names = [n for n in os.listdir(directory) if SHARD_PATTERN.match(n)]
    if os.path.exists(os.path.join(directory, METADATA_FILE)):
        read_shards_metadata(directory)  # refuses a foreign file of that name
        names.append(METADATA_FILE)
    return sorted(names)


def write_shards(
    split: Split | Iterable[Split],
    directory: str,
    *,
    samples_per_shard: int = 1024,
    overwrite: bool = False,
) -> dict:
    """Writes a split as TFRecord shards plus a JSON index, for streaming.

    `split` may be one `Split` or an iterable of `Split` chunks with the same
    modalities and shapes (e.g. from a generator), so a dataset larger than
    memory is written without ever holding it whole. Each record holds one
    sample: its features as raw float32 bytes, label, id, index in the split and
    valid lengths; `keras_umdf_shards.json` records the shapes, widths, label
    form and shard files. Stream the result with `make_dataset_from_shards`.

    Args:
        split: a `Split` or an iterable of `Split` chunks.
        directory: where to write; created if needed. Files other than this
            function's own (`shard-NNNNN.tfrecord`, `keras_umdf_shards.json`) are
            never touched.
        samples_per_shard: samples per shard file.
        overwrite: replace an existing shard set in `directory` (only its own
            files are deleted). Without it an existing set is an error.

    Returns:
        The index, as `read_shards_metadata` returns it.

    Example:

    ```python
    write_shards(data["train"], "/data/mosei_train", samples_per_shard=2048)
    train = make_dataset_from_shards("/data/mosei_train", training=True,
                                     batch_size=16, seed=0)
    ```
    """
    import tensorflow as tf

    samples_per_shard = check_int("samples_per_shard", samples_per_shard)
    directory = os.fspath(directory)
    existing = _existing_shard_set(directory)
    if existing and not overwrite:
        raise FileExistsError(
            f"{directory!r} already holds a shard set ({len(existing)} files, e.g. "
            f"{existing[0]!r}); pass overwrite=True to replace it or choose another "
            "directory."
        )
    os.makedirs(directory, exist_ok=True)
    for name in existing:
        os.remove(os.path.join(directory, name))
    chunks = [split] if isinstance(split, Split) else split
    layout = None
    shards = []
    writer = None
    total = 0
    try:
        for chunk in chunks:
            features, labels, lengths, kind = prepare_split(chunk)
            chunk_layout = {
                "modalities": {
                    m: {"sequence_length": int(x.shape[1]), "dim": int(x.shape[2])}
                    for m, x in features.items()
                },
                "lengths": sorted(lengths),
                "label_kind": kind,
                "label_shape": list(labels.shape[1:]),
            }
            if layout is None:
                layout = chunk_layout
            elif chunk_layout != layout:
                raise ValueError(
                    f"Chunk {len(shards)} of the split has layout {chunk_layout}, but "
                    f"the first chunk had {layout}; every chunk needs the same "
                    "modalities, shapes and label form."
                )
            ids = np.asarray(chunk.ids).astype(str)
            for i in range(labels.shape[0]):
                if writer is None or shards[-1]["num_samples"] == samples_per_shard:
                    if writer is not None:
                        writer.close()
                    name = _shard_name(len(shards))
                    writer = tf.io.TFRecordWriter(os.path.join(directory, name))
                    shards.append({"file": name, "num_samples": 0})
                record = {
                    m: _bytes(np.ascontiguousarray(x[i], np.float32).tobytes())
                    for m, x in features.items()
                }
                record["label"] = _bytes(np.ascontiguousarray(labels[i]).tobytes())
                record["id"] = _bytes(ids[i].encode("utf-8"))
                record["index"] = _int64(total)
                for m, values in lengths.items():
                    record[f"{m}_length"] = _int64(int(values[i]))
                example = tf.train.Example(features=tf.train.Features(feature=record))
                writer.write(example.SerializeToString())
                shards[-1]["num_samples"] += 1
                total += 1
    finally:
        if writer is not None:
            writer.close()
    if layout is None:
        raise ValueError("write_shards received no chunks; the split needs samples.")
    metadata = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "num_samples": total,
        **layout,
        "shards": shards,
    }
    write_text_atomically(
        os.path.join(directory, METADATA_FILE), json.dumps(metadata, indent=2)
    )
    return metadata


def _bytes(value: bytes):
    import tensorflow as tf

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int64(value: int):
    import tensorflow as tf

    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def make_dataset_from_shards(
    directory: str,
    *,
    training: bool,
    batch_size: int,
    seed: int = 0,
    condition: str = "lav",
    drop_rate: float = 0.0,
    p_max: float = DEFAULT_P_MAX,
    shuffle: bool | None = None,
    shuffle_buffer: int = 1024,
    cycle_length: int = 4,
    deterministic: bool = True,
    drop_remainder: bool = False,
    num_parallel_calls: int | None = None,
    prefetch: int | None = None,
):
    """Streams shards written by `write_shards` through the masking pipeline.

    The same masking and batch contract as `make_dataset` (training: two views;
    evaluation: one view under `condition` / `drop_rate`, with masks keyed by
    sample index, so they equal `make_dataset`'s for the same split and seed),
    with memory bounded by the shuffle buffer rather than the dataset: nothing
    is cached. When shuffling, each epoch reads the shards in a new order,
    interleaving `cycle_length` of them, and shuffles windows of
    `shuffle_buffer` consecutive records; every draw is keyed by (seed, epoch),
    independent of TensorFlow's global seed. Without shuffling the samples come
    in the order they were written.

    Memory: about `shuffle_buffer` samples for shuffling, plus a few batches.

    Args:
        directory: the directory given to `write_shards`.
        training, batch_size, seed, condition, drop_rate, p_max, shuffle,
            deterministic, drop_remainder, num_parallel_calls, prefetch: as
            `make_dataset`.
        shuffle_buffer: samples per shuffle window.
        cycle_length: shards read concurrently when shuffling.

    Returns:
        A `tf.data.Dataset` of `(x, y)` with a known number of batches.

    Example:

    ```python
    train = make_dataset_from_shards("/data/mosei_train", training=True,
                                     batch_size=16, seed=0)
    model.fit(train, epochs=30)
    ```
    """
    import tensorflow as tf

    batch_size, seed, drop_rate, p_max, shuffle = check_pipeline_args(
        training=training,
        batch_size=batch_size,
        seed=seed,
        condition=condition,
        drop_rate=drop_rate,
        p_max=p_max,
        shuffle=shuffle,
    )
    shuffle_buffer = check_int("shuffle_buffer", shuffle_buffer)
    cycle_length = check_int("cycle_length", cycle_length)
    metadata = read_shards_metadata(directory)
    layout = metadata["modalities"]
    modalities = tuple(layout)
    files = [os.path.join(directory, s["file"]) for s in metadata["shards"]]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise FileNotFoundError(
            f"The shard index in {directory!r} lists {len(files)} shards but "
            f"{len(missing)} are missing, e.g. {missing[0]!r}; write the shards again."
        )
    num = int(metadata["num_samples"])
    num_batches = num // batch_size if drop_remainder else -(-num // batch_size)
    if num_batches == 0:
        raise ValueError(
            f"The shards hold {num} samples, fewer than batch_size={batch_size}, and "
            "drop_remainder=True would give no batch; lower batch_size."
        )
    kind = metadata["label_kind"]
    label_shape = list(metadata["label_shape"])
    label_dtype = tf.float32 if kind == "regression" else tf.int32
    spec = {m: tf.io.FixedLenFeature([], tf.string) for m in modalities}
    spec["label"] = tf.io.FixedLenFeature([], tf.string)
    spec["index"] = tf.io.FixedLenFeature([], tf.int64)
    for m in metadata["lengths"]:
        spec[f"{m}_length"] = tf.io.FixedLenFeature([], tf.int64)
    transform = BatchTransform(
        modalities,
        kind,
        training=training,
        seed=seed,
        condition=condition,
        drop_rate=drop_rate,
        p_max=p_max,
    )
    files = tf.constant(files)
    fold = tf.random.experimental.stateless_fold_in

    def epoch_records(epoch):
        if not shuffle:
            records = tf.data.TFRecordDataset(files)
        else:
            seed_e = fold(stream_seed(seed, SHUFFLE_STREAM), epoch)
            order = tf.random.experimental.stateless_shuffle(
                tf.range(tf.size(files)), seed=fold(seed_e, 0)
            )
            records = tf.data.Dataset.from_tensor_slices(tf.gather(files, order))
            records = records.interleave(
                tf.data.TFRecordDataset,
                cycle_length=min(cycle_length, len(metadata["shards"])),
                block_length=1,
            )

            def shuffled(window_index, window):
                permutation = tf.random.experimental.stateless_shuffle(
                    tf.range(tf.shape(window)[0]),
                    seed=fold(fold(seed_e, 1), window_index),
                )
                return tf.data.Dataset.from_tensor_slices(
                    tf.gather(window, permutation)
                )

            records = records.batch(shuffle_buffer).enumerate().flat_map(shuffled)
        batches = records.batch(batch_size, drop_remainder=drop_remainder)
        return batches.enumerate().map(lambda i, serialized: (epoch, i, serialized))

    if training or shuffle:
        dataset = epoch_numbers().flat_map(epoch_records)
    else:
        dataset = epoch_records(tf.constant(0, tf.int64))

    def to_batch(epoch, batch_index, serialized):
        parsed = tf.io.parse_example(serialized, spec)
        features = {}
        for m in modalities:
            steps, width = layout[m]["sequence_length"], layout[m]["dim"]
            values = tf.io.decode_raw(parsed[m], tf.float32)
            features[m] = tf.reshape(values, [-1, steps, width])
        labels = tf.io.decode_raw(parsed["label"], label_dtype)
        labels = tf.reshape(labels, [-1, *label_shape])
        lengths = {m: parsed[f"{m}_length"] for m in metadata["lengths"]}
        return transform(epoch, batch_index, features, labels, parsed["index"], lengths)

    return map_to_batches(
        dataset, to_batch, num_batches, num_parallel_calls, prefetch, deterministic
    )
