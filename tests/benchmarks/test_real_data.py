"""The real-data benchmark's plumbing: the source checks, the splits, the probe.

The text encoder (keras-hub and the MiniLM weights) is not a dependency of the
package and is not exercised here; everything around it is.
"""

import hashlib
import pickle

import numpy as np
import pytest

from benchmarks.real_data import build_dataset
from benchmarks.real_data import run_benchmark
from keras_umdf.data import synthetic


def _write_iemocap_like(path):
    """A label pickle in the layout of GCNet's IEMOCAP file: ids, labels,
    speakers, transcripts per dialogue, then the train and test dialogues."""
    dialogues = [f"Ses0{s}F_impro0{i}" for s in (1, 2) for i in range(5)]
    ids = {d: [f"{d}_F00{k}" for k in range(3)] for d in dialogues}
    labels = {d: [k % 4 for k in range(3)] for d in dialogues}
    speakers = {d: ["F", "M", "F"] for d in dialogues}
    texts = {d: [f"utterance {k} of {d}" for k in range(3)] for d in dialogues}
    content = [ids, labels, speakers, texts, set(dialogues[:8]), set(dialogues[8:])]
    with open(path, "wb") as handle:
        pickle.dump(content, handle)


@pytest.mark.only_backend("tensorflow")
def test_iemocap_splits_keep_dialogues_together(tmp_path):
    path = str(tmp_path / "labels.pkl")
    _write_iemocap_like(path)
    splits = build_dataset.read_utterances(path, "iemocap")
    assert {s: len(e["ids"]) for s, e in splits.items()} == {
        "train": 18,
        "valid": 6,
        "test": 6,
    }
    dialogue = {s: {i.rsplit("_", 1)[0] for i in e["ids"]} for s, e in splits.items()}
    assert not dialogue["train"] & dialogue["valid"]
    assert not (dialogue["train"] | dialogue["valid"]) & dialogue["test"]
    assert splits["test"]["texts"][0].startswith("utterance 0 of Ses02F")


@pytest.mark.only_backend("tensorflow")
def test_a_file_other_than_the_published_one_is_refused(tmp_path):
    path = tmp_path / "labels.pkl"
    _write_iemocap_like(str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(SystemExit, match=f"sha256 {digest}.*zeroQiaoba/GCNet"):
        build_dataset.check_source(str(path), "iemocap")
    with pytest.raises(SystemExit, match="does not exist: fetch"):
        build_dataset.check_source(str(tmp_path / "absent.pkl"), "mosi")


@pytest.mark.only_backend("tensorflow")
def test_pooling_ignores_zero_frames():
    data = synthetic("mosi", scale=0.03, feature_style="real")
    split = data["test"]
    text = split.features["text"]
    expected = np.stack(
        [clip[np.any(clip != 0, axis=-1)].mean(axis=0) for clip in text]
    )
    pooled = run_benchmark.pooled(split, ["text"])
    np.testing.assert_allclose(pooled, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.only_backend("tensorflow")
def test_the_linear_probe_beats_the_mean_on_informative_features():
    data = synthetic("mosi", scale=0.3, feature_style="real")
    labels = data["test"].labels
    probe = np.abs(run_benchmark.linear_probe(data, ["text"]) - labels).mean()
    mean = np.abs(data["train"].labels.mean() - labels).mean()
    assert probe < 0.8 * mean
