import warnings

import h5py
import numpy as np
import pytest

from keras_umdf.data import load_csd
from keras_umdf.data.csd import read_csd_metadata
from keras_umdf.data.csd import standard_folds
from tests.data.fake_files import keras_state_untouched  # noqa: F401
from tests.data.fake_files import write_csd
from tests.data.fake_files import write_pickle

DIMS = {"text": 5, "audio": 3, "vision": 2}
# Labelled segments (start, end) in seconds, per video; gaps between some.
SEGMENTS = {
    "vidA": [(0.0, 2.0), (2.0, 5.0)],
    "vidB": [(1.0, 3.0)],
    "vidC": [(0.0, 1.0), (1.5, 4.0), (4.0, 6.0)],
}
# Rows each modality has inside each segment, in SEGMENTS order (T = 4 below:
# 6 truncates, 0 is an all-zero clip).
COUNTS = {
    "text": [2, 6, 4, 1, 3, 0],
    "audio": [4, 5, 3, 4, 2, 4],
    "vision": [1, 2, 6, 2, 4, 3],
}


def _fake_dataset(rng, segments=SEGMENTS, counts=COUNTS, label_columns=1):
    """Feature files whose rows fall inside known segments, plus rows outside."""
    features = {m: {} for m in DIMS}
    per_segment = {m: [] for m in DIMS}  # rows of each segment, in order
    labels = {}
    index = 0
    for video, spans in segments.items():
        scores = np.round(rng.uniform(-3, 3, (len(spans), label_columns)), 2)
        labels[video] = (scores, np.array(spans, dtype=np.float64))
        for modality, dim in DIMS.items():
            rows, times = [], []
            # A row before the first segment, and one after the last: no segment.
            times.append((spans[0][0] - 0.5, spans[0][0] - 0.1))
            rows.append(rng.normal(size=dim))
            for number, (start, end) in enumerate(spans):
                count = counts[modality][index + number]
                edges = np.linspace(start, end, count + 1)
                chunk = rng.normal(size=(count, dim))
                per_segment[modality].append(chunk)
                rows.extend(chunk)
                times.extend(zip(edges[:-1], edges[1:], strict=True))
            times.append((spans[-1][1] + 0.1, spans[-1][1] + 0.4))
            rows.append(rng.normal(size=dim))
            order = np.argsort([t[0] for t in times], kind="stable")
            features[modality][video] = (
                np.asarray(rows, np.float32)[order].reshape(-1, dim),
                np.asarray(times)[order],
            )
        index += len(spans)
    return features, labels, per_segment


def _write(tmp_path, features, labels):
    paths = {
        m: write_csd(
            tmp_path / f"{m}.csd",
            f"{m} features",
            videos,
            metadata={"root name": f"{m} features", "dimension names": list("abcde")},
        )
        for m, videos in features.items()
    }
    label_path = write_csd(tmp_path / "labels.csd", "Opinion Segment Labels", labels)
    return paths, label_path


def _pad(rows, steps, padding="pre", truncating="pre"):
    if len(rows) > steps:
        rows = rows[-steps:] if truncating == "pre" else rows[:steps]
    out = np.zeros((steps, rows.shape[1]), np.float32)
    if len(rows):
        if padding == "pre":
            out[steps - len(rows) :] = rows
        else:
            out[: len(rows)] = rows
    return out


@pytest.mark.parametrize(
    "padding,truncating", [("pre", "pre"), ("post", "post"), ("post", "pre")]
)
def test_round_trip(tmp_path, rng, padding, truncating):
    features, labels, per_segment = _fake_dataset(rng)
    paths, label_path = _write(tmp_path, features, labels)
    data = load_csd(
        paths, label_path, sequence_length=4, padding=padding, truncating=truncating
    )
    assert list(data.splits) == ["all"] and data.task == "regression"
    split = data["all"]
    assert list(split.ids) == [
        "vidA[0]",
        "vidA[1]",
        "vidB[0]",
        "vidC[0]",
        "vidC[1]",
        "vidC[2]",
    ]
    want_labels = np.concatenate([labels[v][0][:, 0] for v in SEGMENTS])
    np.testing.assert_array_equal(split.labels, want_labels.astype(np.float32))
    for modality in DIMS:
        want = np.stack(
            [_pad(r, 4, padding, truncating) for r in per_segment[modality]]
        )
        np.testing.assert_array_equal(split.features[modality], want)
    # The segment with no text rows is all zeros (missing).
    assert not split.features["text"][5].any()


def test_midpoint_rule_at_segment_boundaries(tmp_path):
    # Segments [0, 2) and [2, 4); rows straddle the boundary.
    times = np.array([[0.0, 1.0], [1.5, 2.4], [1.8, 2.6], [2.0, 3.0], [3.9, 4.3]])
    rows = np.arange(1, 6, dtype=np.float32)[:, None]  # row k holds k + 1
    labels = {"v": (np.array([[1.0], [-1.0]]), np.array([[0.0, 2.0], [2.0, 4.0]]))}
    paths, label_path = _write(tmp_path, {"text": {"v": (rows, times)}}, labels)
    data = load_csd(paths, label_path, sequence_length=3)
    text = data["all"].features["text"][..., 0]
    # Midpoints 0.5, 1.95 -> first; 2.2, 2.5 -> second; 4.1 -> neither.
    np.testing.assert_array_equal(text, [[0, 1, 2], [0, 3, 4]])


def test_sequence_length_per_modality_and_label_column(tmp_path, rng):
    features, labels, per_segment = _fake_dataset(rng, label_columns=7)
    paths, label_path = _write(tmp_path, features, labels)
    steps = {"text": 3, "audio": 5, "vision": 2}
    data = load_csd(paths, label_path, sequence_length=steps, label_column=2)
    assert data.sequence_lengths == steps
    want_labels = np.concatenate([labels[v][0][:, 2] for v in SEGMENTS])
    np.testing.assert_array_equal(data["all"].labels, want_labels.astype(np.float32))
    want = np.stack([_pad(r, 5) for r in per_segment["audio"]])
    np.testing.assert_array_equal(data["all"].features["audio"], want)


def test_standard_and_custom_folds(tmp_path, rng):
    mosi = standard_folds("mosi")
    assert {k: len(v) for k, v in mosi.items()} == {
        "train": 52,
        "valid": 10,
        "test": 31,
    }
    assert not set(mosi["train"]) & set(mosi["test"])
    assert len(standard_folds("mosei")["test"]) == 678
    segments = {
        mosi["train"][0]: [(0.0, 1.0)],
        mosi["train"][1]: [(0.0, 1.0), (1.0, 2.0)],
        mosi["valid"][0]: [(0.0, 2.0)],
        mosi["test"][0]: [(0.5, 1.5)],
        "notInAnyFold": [(0.0, 1.0)],
    }
    counts = {m: [1, 2, 3, 1, 2, 1] for m in DIMS}
    features, labels, _ = _fake_dataset(rng, segments, counts)
    paths, label_path = _write(tmp_path, features, labels)
    data = load_csd(paths, label_path, folds="mosi", sequence_length=3)
    assert data.name == "mosi"
    assert list(data.splits) == ["train", "valid", "test"]
    train_ids = sorted(data["train"].ids)
    assert train_ids == sorted(
        [f"{mosi['train'][0]}[0]", f"{mosi['train'][1]}[0]", f"{mosi['train'][1]}[1]"]
    )
    assert list(data["valid"].ids) == [f"{mosi['valid'][0]}[0]"]
    assert list(data["test"].ids) == [f"{mosi['test'][0]}[0]"]
    custom = load_csd(
        paths,
        label_path,
        folds={"train": ["notInAnyFold"], "test": [mosi["test"][0], "unknown"]},
    )
    assert list(custom["train"].ids) == ["notInAnyFold[0]"]
    assert list(custom["test"].ids) == [f"{mosi['test'][0]}[0]"]
    with pytest.raises(ValueError, match="None of the 1 videos of split 'valid'"):
        load_csd(paths, label_path, folds={"train": ["notInAnyFold"], "valid": ["x"]})
    with pytest.raises(ValueError, match="Standard folds ship for"):
        load_csd(paths, label_path, folds="iemocap")


def test_videos_missing_from_a_feature_file(tmp_path, rng):
    features, labels, per_segment = _fake_dataset(rng)
    del features["audio"]["vidB"]
    paths, label_path = _write(tmp_path, features, labels)
    with pytest.warns(UserWarning, match="left out 1 labelled segments"):
        dropped = load_csd(paths, label_path, sequence_length=4)
    assert "vidB[0]" not in dropped["all"].ids and dropped["all"].num_samples == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zeros = load_csd(paths, label_path, sequence_length=4, missing="zeros")
    assert list(zeros["all"].ids).index("vidB[0]") == 2
    assert not zeros["all"].features["audio"][2].any()
    np.testing.assert_array_equal(
        zeros["all"].features["vision"][2], _pad(per_segment["vision"][2], 4)
    )
    with pytest.raises(KeyError, match="'vidB'.*audio.csd"):
        load_csd(paths, label_path, missing="raise")


def test_metadata(tmp_path, rng):
    features, labels, _ = _fake_dataset(rng)
    paths, _ = _write(tmp_path, features, labels)
    metadata = read_csd_metadata(paths["text"])
    assert metadata["root name"] == "text features"
    assert metadata["dimension names"] == ["a", "b", "c", "d", "e"]


def test_errors(tmp_path, rng):
    features, labels, _ = _fake_dataset(rng)
    paths, label_path = _write(tmp_path, features, labels)
    with pytest.raises(FileNotFoundError, match="absent_labels.csd"):
        load_csd(paths, tmp_path / "absent_labels.csd")
    with pytest.raises(FileNotFoundError, match="'vision' features.*absent.csd"):
        load_csd({**paths, "vision": tmp_path / "absent.csd"}, label_path)

    pickled = write_pickle(tmp_path / "pickled.csd", {"train": {}})
    with pytest.raises(ValueError, match="pickled.csd.*not an HDF5 file.*pickle"):
        load_csd({**paths, "audio": pickled}, label_path)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as file:
        file.create_group("root").create_dataset("values", data=[1, 2])
    with pytest.raises(
        ValueError, match=r"plain.h5.*not a computational sequence.*'values'"
    ):
        load_csd(paths, plain)

    mismatched = {"v": (np.zeros((5, 2), np.float32), np.zeros((4, 2)))}
    bad = write_csd(tmp_path / "mismatched.csd", "x", mismatched)
    with pytest.raises(ValueError, match=r"mismatched.csd.*data/v.*\(5, 2\).*\(4, 2\)"):
        load_csd(
            {"text": bad}, write_csd(tmp_path / "l.csd", "l", {"v": labels["vidB"]})
        )

    ragged = dict(features["vision"])
    ragged["vidC"] = (
        np.zeros((3, 7), np.float32),
        np.array([[0, 1], [1, 2], [2, 3.0]]),
    )
    ragged_path = write_csd(tmp_path / "ragged.csd", "vision", ragged)
    with pytest.raises(ValueError, match="ragged.csd.*data/vidC.*7 dims.*2"):
        load_csd({**paths, "vision": ragged_path}, label_path)

    words = {"vidA": (np.array([[b"hello"], [b"sp"]]), np.array([[0, 1], [1, 2.0]]))}
    words_path = write_csd(tmp_path / "words.csd", "words", words)
    with pytest.raises(ValueError, match="words.csd.*data/vidA.*not numbers.*Vectors"):
        load_csd({**paths, "text": words_path}, label_path, missing="zeros")

    with pytest.raises(ValueError, match="label_column=3.*labels.csd.*1 label columns"):
        load_csd(paths, label_path, label_column=3)
    with pytest.raises(ValueError, match="padding must be one of"):
        load_csd(paths, label_path, padding="front")
    with pytest.raises(ValueError, match="sequence_length has no entry for"):
        load_csd(paths, label_path, sequence_length={"text": 3})
    with pytest.raises(ValueError, match="non-empty dict"):
        load_csd({}, label_path)
