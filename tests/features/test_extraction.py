"""Alignment, manifests, the features folder and a whole extraction run, with
stand-in extractors whose frames are known exactly (the real extractors have
their own tests)."""

import json
import os

import numpy as np
import pytest

from keras_umdf.data import load_dataset
from keras_umdf.features import Clip
from keras_umdf.features import Extractor
from keras_umdf.features import Frames
from keras_umdf.features import Word
from keras_umdf.features.align import average_over
from keras_umdf.features.assemble import clip_arrays
from keras_umdf.features.extraction import ExtractorSettings
from keras_umdf.features.extraction import extract_manifest
from keras_umdf.features.manifest import read_manifest

pytestmark = pytest.mark.only_backend("tensorflow")


class Ramp(Extractor):
    """Audio-like frames every 0.1 s over the clip's `media` seconds (the file
    holds the duration): value = the frame's start; frames from `gap` on are
    absent. A media file holding "fail" raises."""

    modality, name, version, width = "audio", "ramp", "1", 2

    def __init__(self, gap=None):
        self.gap = gap

    def extract(self, clip):
        if clip.media is None:
            return Frames.empty(self.width)
        with open(clip.media) as file:
            text = file.read().strip()
        if text == "fail":
            raise OSError(f"cannot decode {clip.media}")
        starts = np.arange(0.0, float(text) - 1e-9, 0.1)
        present = np.ones(len(starts), bool)
        if self.gap is not None:
            present[starts >= self.gap - 1e-9] = False
        values = np.stack([starts, np.ones_like(starts)], axis=1).astype(np.float32)
        values[~present] = 0.0
        return Frames(values, starts, starts + 0.1, present)


class WordCount(Extractor):
    """Text-like: one frame per word, value = the word's length."""

    modality, name, version, width = "text", "word_count", "1", 1

    def extract(self, clip):
        words = [w.text for w in clip.words] if clip.words else []
        if not words and clip.transcript:
            words = clip.transcript.split()
        if not words:
            return Frames.empty(self.width)
        n = len(words)
        values = np.asarray([[len(w)] for w in words], np.float32)
        return Frames(
            values, np.arange(n, dtype=float), np.arange(1, n + 1.0), np.ones(n, bool)
        )


def test_average_over_weighs_frames_by_shared_time_and_skips_absent_ones():
    frames = Frames(
        np.asarray([[1.0], [3.0], [100.0]], np.float32),
        np.asarray([0.0, 1.0, 2.0]),
        np.asarray([1.0, 2.0, 3.0]),
        np.asarray([True, True, False]),
    )
    values, found = average_over(frames, [0.5, 1.5, 2.2], [1.5, 3.0, 2.8])
    # [0.5, 1.5): half of each of the first two frames; [1.5, 3.0): only the
    # present part of frame 2; [2.2, 2.8): only the absent frame.
    np.testing.assert_allclose(values[:, 0], [2.0, 3.0, 0.0])
    np.testing.assert_array_equal(found, [True, True, False])


def test_word_timings_align_every_modality_to_the_words():
    clip = Clip(
        "c",
        media=None,
        words=(Word("so", 0.0, 0.2), Word("good", 0.2, 0.6), Word("ok", 0.6, 0.6)),
    )
    ramp = Ramp()
    ramp_frames = ramp.extract(Clip("x"))  # no media: empty
    assert ramp_frames.values.shape == (0, 2)
    # Frames of 0.1 s from 0 to 1 s, value = start; word means are the mean
    # start of the frames inside each word.
    frames = Frames(
        np.arange(0, 1, 0.1)[:, None].astype(np.float32),
        np.arange(0, 1, 0.1),
        np.arange(0.1, 1.05, 0.1),
        np.ones(10, bool),
    )
    from keras_umdf.features.assemble import align_frames

    text = WordCount().extract(clip)
    arrays = align_frames(clip, {"text": text, "audio": frames}, length=5)
    np.testing.assert_allclose(arrays["audio"][:3, 0], [0.05, 0.35, 0.6], atol=1e-6)
    np.testing.assert_array_equal(arrays["audio"][3:], 0.0)  # padding
    np.testing.assert_array_equal(arrays["text"][:, 0], [2, 4, 2, 0, 0])


def test_without_timings_the_clip_is_cut_into_equal_stretches(tmp_path):
    media = tmp_path / "clip.txt"
    media.write_text("1.0")
    clip = Clip("c", media=str(media), transcript="a bb ccc")
    arrays, found = clip_arrays(clip, {"audio": Ramp(gap=0.6), "text": WordCount()}, 5)
    # Five stretches of 0.2 s: mean frame start 0.05, 0.25, 0.45; then absent.
    np.testing.assert_allclose(
        arrays["audio"][:, 0], [0.05, 0.25, 0.45, 0, 0], atol=1e-6
    )
    np.testing.assert_array_equal(arrays["audio"][:, 1], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(arrays["text"][:, 0], [1, 2, 3, 0, 0])
    assert found == {"audio": True, "text": True}


def write_manifest(tmp_path, rows, kind="json"):
    path = tmp_path / f"manifest.{kind}"
    if kind == "json":
        path.write_text(json.dumps(rows))
    else:
        import csv

        with open(path, "w", newline="") as file:
            writer = csv.DictWriter(
                file, fieldnames=sorted({k for r in rows for k in r})
            )
            writer.writeheader()
            writer.writerows(rows)
    return str(path)


def test_manifest_reads_csv_and_json_alike(tmp_path):
    (tmp_path / "a.txt").write_text("1.0")
    (tmp_path / "t.txt").write_text("hello there\n")
    (tmp_path / "w.csv").write_text("word,start,end\nhello,0,0.4\nthere,0.4,0.9\n")
    rows = [
        {"id": "a", "media": "a.txt", "transcript_file": "t.txt", "label": "1.5"},
        {"id": "b", "words_file": "w.csv", "label": "-2", "split": "test"},
    ]
    for kind in ("json", "csv"):
        entries = read_manifest(write_manifest(tmp_path, rows, kind))
        assert [e.clip.id for e in entries] == ["a", "b"]
        assert entries[0].clip.transcript == "hello there"
        assert entries[0].clip.media == str(tmp_path / "a.txt")
        assert entries[1].clip.words == (Word("hello", 0, 0.4), Word("there", 0.4, 0.9))
        assert entries[1].clip.transcript == "hello there"
        assert [e.label for e in entries] == [1.5, -2.0]
        assert [e.split for e in entries] == ["train", "test"]


@pytest.mark.parametrize(
    "row, message",
    [
        ({"id": "a", "colour": "red"}, "unknown field"),
        ({"media": "x"}, "needs an id"),
        ({"id": "a", "media": "missing.mp4"}, "is not a file"),
        ({"id": "a", "label": "happy"}, "not a number"),
        ({"id": "a", "label": "3.5"}, r"not a sentiment score in \[-3, 3\]"),
        ({"id": "a", "label": "nan"}, "not a sentiment score"),
        ({"id": "a", "split": "dev"}, "split 'dev'"),
        ({"id": "a", "words": [["hi", 0.5, 0.2]]}, "start <= end"),
        ({"id": "a", "words": [["hi", 0.5]]}, "each word is"),
    ],
)
def test_manifest_errors_name_the_clip_and_the_fix(tmp_path, row, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        read_manifest(write_manifest(tmp_path, [row]))


def test_manifest_refuses_repeated_ids(tmp_path):
    with pytest.raises(ValueError, match="'a' appears twice"):
        read_manifest(write_manifest(tmp_path, [{"id": "a"}, {"id": "a"}]))


def extract(entries, folder, **kwargs):
    extractors = {"text": WordCount(), "audio": Ramp(gap=0.6)}
    return extract_manifest(
        entries,
        folder,
        ExtractorSettings(),
        length=4,
        progress=None,
        extractors=extractors,
        **kwargs,
    )


def test_a_manifest_becomes_a_dataset_and_a_failed_clip_is_reported(tmp_path):
    for name, text in [("a", "1.0"), ("b", "2.0"), ("bad", "fail")]:
        (tmp_path / f"{name}.txt").write_text(text)
    rows = [
        {"id": "a", "media": "a.txt", "transcript": "so good", "label": 2.0},
        {"id": "b", "media": "b.txt", "label": -1.0, "split": "test"},
        {"id": "bad", "media": "bad.txt", "transcript": "x", "label": 0.0},
        {"id": "c", "transcript": "no media at all", "label": 1.0},
    ]
    entries = read_manifest(write_manifest(tmp_path, rows))
    folder = str(tmp_path / "features")
    report = extract(entries, folder)
    assert (report["extracted"], report["skipped"], report["failed"]) == (3, 0, 1)
    errors = json.loads((tmp_path / "features" / "errors.json").read_text())
    assert errors[0]["id"] == "bad" and "cannot decode" in errors[0]["error"]
    data = load_dataset(folder)
    assert sorted(data.splits) == ["test", "train"]
    assert list(data["train"].ids) == ["a", "c"]
    assert data.modality_dims == {"text": 1, "audio": 2}
    assert data.feature_extractors[0]["name"] == "word_count"
    np.testing.assert_array_equal(data["train"].labels, [2.0, 1.0])
    # "c" has no media: its audio is all zero rows (missing).
    np.testing.assert_array_equal(data["train"].features["audio"][1], 0.0)
    np.testing.assert_array_equal(data["test"].features["text"][0], 0.0)


def test_a_second_run_skips_done_clips_and_retries_failed_ones(tmp_path):
    (tmp_path / "a.txt").write_text("1.0")
    (tmp_path / "bad.txt").write_text("fail")
    rows = [
        {"id": "a", "media": "a.txt", "label": 1.0},
        {"id": "bad", "media": "bad.txt", "label": 0.0},
    ]
    entries = read_manifest(write_manifest(tmp_path, rows))
    folder = str(tmp_path / "features")
    extract(entries, folder)
    first = os.listdir(os.path.join(folder, "clips"))
    (tmp_path / "bad.txt").write_text("0.5")  # the file was repaired
    report = extract(entries, folder)
    assert (report["extracted"], report["skipped"], report["failed"]) == (1, 1, 0)
    assert set(first) < set(os.listdir(os.path.join(folder, "clips")))
    assert not os.path.exists(os.path.join(folder, "errors.json"))


def test_a_folder_of_other_features_or_files_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text("1.0")
    entries = read_manifest(write_manifest(tmp_path, [{"id": "a", "media": "a.txt"}]))
    folder = str(tmp_path / "features")
    extract(entries, folder)
    with pytest.raises(ValueError, match="made another way"):
        extract_manifest(
            entries,
            folder,
            ExtractorSettings(),
            length=8,
            progress=None,
            extractors={"text": WordCount(), "audio": Ramp()},
        )
    with pytest.raises(ValueError, match="holds other files"):
        extract(entries, str(tmp_path))


def test_unlabelled_clips_cannot_be_trained_on(tmp_path):
    entries = read_manifest(write_manifest(tmp_path, [{"id": "a", "transcript": "hi"}]))
    folder = str(tmp_path / "features")
    extract(entries, folder)
    with pytest.raises(ValueError, match="no label"):
        load_dataset(folder)


def test_progress_in_a_log_is_a_line_per_tenth_of_the_clips(tmp_path):
    import io

    rows = [{"id": f"c{i:02d}", "transcript": "a b", "label": 0.0} for i in range(20)]
    entries = read_manifest(write_manifest(tmp_path, rows))
    log = io.StringIO()  # not a terminal: whole lines, no carriage returns
    extract_manifest(
        entries,
        str(tmp_path / "features"),
        ExtractorSettings(),
        length=4,
        progress=log,
        extractors={"text": WordCount()},
    )
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert len(lines) == 10 and lines[0].startswith("[2/20] 10% ")
    assert lines[-1].startswith("[20/20] 100% ") and lines[-1].endswith("0 failed")
