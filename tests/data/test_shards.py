"""TFRecord shards: round trip, same batches as in memory, bounded-memory streaming."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_umdf.data import MultimodalDataset
from keras_umdf.data import Split
from keras_umdf.data.pipeline import make_dataset
from keras_umdf.data.shards import METADATA_FILE
from keras_umdf.data.shards import make_dataset_from_shards
from keras_umdf.data.shards import read_shards_metadata
from keras_umdf.data.shards import write_shards

tf = pytest.importorskip("tensorflow")

STEPS = {"text": 8, "audio": 12, "vision": 6}
DIMS = {"text": 5, "audio": 3, "vision": 2}


def tiny_split(n=30, *, task="regression", lengths=None, seed=0, offset=0):
    rng = np.random.default_rng(seed)
    features = {
        m: rng.uniform(0.5, 1.5, (n, STEPS[m], DIMS[m])).astype("float32") for m in DIMS
    }
    if task == "regression":
        labels = rng.uniform(-3, 3, n).astype("float32")
        kwargs = {}
    else:
        labels = (rng.random((n, 4)) < 0.4).astype(int)
        kwargs = {"task": "classification", "num_classes": 4, "multi_label": True}
    ids = np.array([f"v{i + offset}$_$0" for i in range(n)])
    split = Split(features, labels, ids, lengths)
    return MultimodalDataset({"train": split}, **kwargs)["train"]


def as_numpy(dataset):
    return [keras.tree.map_structure(lambda t: t.numpy(), batch) for batch in dataset]


def assert_same_batches(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        for u, v in zip(keras.tree.flatten(a), keras.tree.flatten(b), strict=True):
            np.testing.assert_array_equal(u, v)


def test_shards_give_the_in_memory_batches(tmp_path):
    split = tiny_split(30)
    metadata = write_shards(split, tmp_path, samples_per_shard=7)
    assert metadata == read_shards_metadata(tmp_path)
    assert metadata["num_samples"] == 30 and len(metadata["shards"]) == 5
    assert [s["num_samples"] for s in metadata["shards"]] == [7, 7, 7, 7, 2]
    assert metadata["modalities"]["audio"] == {"sequence_length": 12, "dim": 3}
    assert metadata["label_kind"] == "regression"
    # Without shuffling, the same batches and masks as make_dataset, both modes.
    for kwargs in (
        dict(training=False, condition="av", drop_rate=0.3),
        dict(training=False, condition="lav", drop_rate=1.0),
        dict(training=True, shuffle=False),
    ):
        memory = make_dataset(split, batch_size=8, seed=2, **kwargs)
        shards = make_dataset_from_shards(tmp_path, batch_size=8, seed=2, **kwargs)
        assert int(shards.cardinality()) == 4
        assert shards.element_spec == memory.element_spec
        assert_same_batches(as_numpy(memory), as_numpy(shards))


def test_shuffled_epochs_are_fresh_complete_and_reproducible(tmp_path):
    split = tiny_split(50)
    write_shards(split, tmp_path, samples_per_shard=8)
    kwargs = dict(training=True, batch_size=10, seed=5, shuffle_buffer=16)
    first = make_dataset_from_shards(tmp_path, **kwargs)
    epochs = [as_numpy(first) for _ in range(2)]
    second = make_dataset_from_shards(tmp_path, **kwargs)
    for epoch in epochs:
        assert_same_batches(epoch, as_numpy(second))
    orders = [np.concatenate([y[:, 0] for _, y in epoch]) for epoch in epochs]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.sort(split.labels))
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], split.labels)
    x, _ = epochs[0][0]
    for view in x.values():
        for m in DIMS:
            mask = view[f"{m}_mask"]
            np.testing.assert_array_equal(view[m][mask == 0], 0)
            assert np.all(view[m][mask == 1] > 0)


def test_lengths_ids_and_multi_label_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    lengths = {"audio": rng.integers(0, 13, 20)}
    split = tiny_split(20, task="multi_label", lengths=lengths)
    metadata = write_shards(split, tmp_path, samples_per_shard=6)
    assert metadata["lengths"] == ["audio"] and metadata["label_shape"] == [4]
    batches = as_numpy(
        make_dataset_from_shards(tmp_path, training=False, batch_size=20)
    )
    (x, y), *_ = batches
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, split.labels)
    np.testing.assert_array_equal(x["audio_mask"].sum(1), lengths["audio"])
    np.testing.assert_array_equal(x["text"], split.features["text"])
    parsed = tf.io.parse_single_example(
        next(iter(tf.data.TFRecordDataset(str(tmp_path / "shard-00001.tfrecord")))),
        {"id": tf.io.FixedLenFeature([], tf.string)},
    )
    assert parsed["id"].numpy().decode() == split.ids[6]


def test_chunks_write_the_same_shards_as_the_whole(tmp_path):
    split = tiny_split(25)
    chunks = (
        split.subset(range(start, min(25, start + 10))) for start in range(0, 25, 10)
    )
    write_shards(chunks, tmp_path / "chunks", samples_per_shard=4)
    write_shards(split, tmp_path / "whole", samples_per_shard=4)
    for name in sorted(os.listdir(tmp_path / "whole")):
        assert (tmp_path / "chunks" / name).read_bytes() == (
            tmp_path / "whole" / name
        ).read_bytes()
    other = tiny_split(5)
    other.features["text"] = other.features["text"][:, :, :4]
    with pytest.raises(ValueError, match="same modalities, shapes"):
        write_shards(iter([split, other]), tmp_path / "bad", samples_per_shard=4)


def test_existing_shards_are_kept_unless_overwrite(tmp_path):
    write_shards(tiny_split(10), tmp_path, samples_per_shard=3)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_shards(tiny_split(4), tmp_path)
    assert read_shards_metadata(tmp_path)["num_samples"] == 10
    write_shards(tiny_split(4, seed=1), tmp_path, samples_per_shard=3, overwrite=True)
    assert read_shards_metadata(tmp_path)["num_samples"] == 4
    assert sorted(os.listdir(tmp_path)) == [
        METADATA_FILE,
        "notes.txt",
        "shard-00000.tfrecord",
        "shard-00001.tfrecord",
    ]
    assert (tmp_path / "notes.txt").read_text() == "mine"
    # A file of the index's name that is not ours is never replaced.
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / METADATA_FILE).write_text(json.dumps({"my": "data"}))
    with pytest.raises(ValueError, match="not a keras_umdf shard index"):
        write_shards(tiny_split(4), foreign, overwrite=True)
    assert json.loads((foreign / METADATA_FILE).read_text()) == {"my": "data"}


def test_reading_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="write_shards"):
        make_dataset_from_shards(tmp_path, training=True, batch_size=4)
    write_shards(tiny_split(6), tmp_path, samples_per_shard=3)
    with pytest.raises(
        ValueError, match="shuffle_buffer must be a positive int; received 0"
    ):
        make_dataset_from_shards(
            tmp_path, training=True, batch_size=4, shuffle_buffer=0
        )
    os.remove(tmp_path / "shard-00001.tfrecord")
    with pytest.raises(FileNotFoundError, match="shard-00001"):
        make_dataset_from_shards(tmp_path, training=True, batch_size=4)


STREAM_SCRIPT = """
import json, resource, sys
from keras_umdf.data.shards import make_dataset_from_shards

def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB

kwargs = dict(training=True, batch_size=32, seed=0, shuffle_buffer=64)
for _ in make_dataset_from_shards(sys.argv[2], **kwargs):  # TensorFlow warm-up
    pass
before = peak_rss()
samples = 0
for x, y in make_dataset_from_shards(sys.argv[1], **kwargs):
    samples += int(y.shape[0])
print(json.dumps({"samples": samples, "growth": peak_rss() - before}))
"""


def write_generated(directory, num, chunk=250):
    """Shards of `num` MOSEI-shaped samples, generated chunk by chunk."""
    dims = {"text": 300, "audio": 74, "vision": 35}

    def chunks():
        rng = np.random.default_rng(0)
        for start in range(0, num, chunk):
            n = min(chunk, num - start)
            features = {
                m: rng.standard_normal((n, 50, d), dtype=np.float32)
                for m, d in dims.items()
            }
            labels = rng.uniform(-3, 3, n).astype(np.float32)
            yield Split(features, labels, np.arange(start, start + n).astype(str))

    write_shards(chunks(), directory, samples_per_shard=256)
    return num * 50 * sum(dims.values()) * 4


@pytest.mark.tf_only
@pytest.mark.slow
def test_streaming_uses_bounded_memory(tmp_path, subprocess_env):
    """One epoch over ~200 MB of shards grows the peak RSS by less than a quarter
    of that: nothing holds the dataset whole."""
    data_bytes = write_generated(tmp_path / "big", 2500)
    write_generated(tmp_path / "warm", 100)
    shard_bytes = sum(f.stat().st_size for f in (tmp_path / "big").iterdir())
    assert shard_bytes > data_bytes > 200e6
    limit = data_bytes / 4
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            STREAM_SCRIPT,
            str(tmp_path / "big"),
            str(tmp_path / "warm"),
        ],
        capture_output=True,
        text=True,
        env=subprocess_env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["samples"] == 2500
    assert measured["growth"] < limit, (
        f"peak RSS grew by {measured['growth'] / 1e6:.0f} MB streaming "
        f"{data_bytes / 1e6:.0f} MB; limit {limit / 1e6:.0f} MB"
    )
