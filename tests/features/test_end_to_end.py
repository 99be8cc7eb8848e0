"""Raw clips to a trained model to a prediction, through the command line, with
the real extractors (all-MiniLM-L6-v2, the acoustic descriptors, MediaPipe's
face landmarker) on clips made on the spot."""

import contextlib
import io
import json
import os

import numpy as np
import pytest

from keras_umdf.cli import main
from keras_umdf.data import load_dataset
from keras_umdf.features.demo_clips import write_demo_clips

pytestmark = [pytest.mark.slow, pytest.mark.only_backend("tensorflow")]
pytest.importorskip("av")
pytest.importorskip("mediapipe")
pytest.importorskip("keras_hub")


def run(*argv):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(list(argv))
    return status, printed.getvalue()


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    manifest = write_demo_clips(str(root / "clips"), count=8, seconds=1.0)
    folder = str(root / "features")
    status, printed = run("features", manifest, "--output", folder, "--length", "8")
    assert status == 0, printed
    return root, manifest, folder, printed


def test_every_clip_is_extracted_with_what_it_holds(extracted):
    _, manifest, folder, printed = extracted
    assert "8 clip(s) extracted, 0 already done, 0 failed" in printed
    data = load_dataset(folder)
    assert data.modality_dims == {"text": 384, "audio": 57, "vision": 59}
    assert [spec["name"] for spec in data.feature_extractors] == [
        "all-minilm-l6-v2",
        "acoustic_descriptors",
        "mediapipe_face_blendshapes",
    ]
    clips = {r["id"]: r for r in json.load(open(manifest))}
    for split in data.splits.values():
        for index, clip_id in enumerate(split.ids):
            kind = int(clip_id[4:]) % 8
            rows = {
                m: np.abs(v[index]).sum(axis=-1) > 0 for m, v in split.features.items()
            }
            # clip 5: grey frames, no face; 6: a silent track; 7: no
            # transcript; 4: a wav file, no video.
            assert rows["vision"].any() == (kind not in (4, 5)), clip_id
            assert rows["audio"].any() == (kind != 6), clip_id
            assert rows["text"].sum() == (0 if kind == 7 else 4), clip_id
            if kind != 6:
                # Word-aligned clips have one row per word, the others one
                # per equal stretch of the clip.
                rows_with_sound = 4 if "words" in clips[clip_id] else 8
                assert rows["audio"].sum() == rows_with_sound, clip_id


def test_a_second_run_resumes_and_changes_nothing(extracted):
    _, manifest, folder, _ = extracted
    before = load_dataset(folder)
    status, printed = run("features", manifest, "--output", folder, "--length", "8")
    assert status == 0
    assert "0 clip(s) extracted, 8 already done" in printed
    after = load_dataset(folder)
    for name, split in before.splits.items():
        for m, values in split.features.items():
            np.testing.assert_array_equal(after[name].features[m], values)


def test_a_model_trained_on_the_features_predicts_a_clip(extracted):
    root, manifest, folder, _ = extracted
    model_dir = str(root / "run")
    status, printed = run(
        "train", "--dataset", folder, "--output", model_dir, "--epochs", "1",
        "--batch-size", "4", "--hidden-dim", "8", "--num-heads", "2",
        "--num-layers", "1", "--verbose", "0", "--no-curves", "--conditions", "lav",
    )  # fmt: skip
    assert status == 0, printed
    model = os.path.join(model_dir, "model.keras")
    clip = os.path.join(root, "clips", "clip005.mp4")  # no face in view
    output = str(root / "prediction.json")
    # Another length than the features were extracted at is refused.
    status, _ = run("predict", clip, "--model", model, "--length", "9",
                    "--output", output)  # fmt: skip
    assert status == 2 and not os.path.exists(output)
    status, printed = run(
        "predict", clip, "--transcript", "great fine", "--model", model,
        "--output", output,
    )  # fmt: skip
    assert status == 0, printed
    rows = json.load(open(output))["predictions"]
    assert len(rows) == 1 and rows[0]["id"] == "clip005.mp4"
    assert rows[0]["found"] == "text audio"
    assert np.isfinite(rows[0]["prediction"])
    # The manifest itself, the labels carried through.
    status, _ = run("predict", manifest, "--model", model,
                    "--output", str(root / "all.csv"))  # fmt: skip
    assert status == 0
    lines = open(root / "all.csv").read().splitlines()
    assert len(lines) == 9 and "found" in lines[0] and "label" in lines[0]


def test_features_of_another_model_are_refused(extracted, tmp_path):
    root, _, folder, _ = extracted
    import keras_umdf

    data = load_dataset(folder)
    model = keras_umdf.UMDF.for_dataset(data, hidden_dim=8, num_heads=2, num_layers=1)
    specs = [dict(s) for s in model.feature_extractors]
    specs[1]["version"] = "0"
    model.feature_extractors = tuple(specs)
    path = str(tmp_path / "other.keras")
    model.save(path)
    status, _ = run("predict", "--input", folder, "--split", "train", "--model",
                    path, "--output", str(tmp_path / "p.json"))  # fmt: skip
    assert status == 2
    status, _ = run("predict", os.path.join(root, "clips", "clip000.mp4"),
                    "--model", path, "--output", str(tmp_path / "q.json"))  # fmt: skip
    assert status == 2


def test_worker_processes_extract_the_same_values(extracted):
    root, manifest, folder, _ = extracted
    other = str(root / "two_workers")
    status, printed = run(
        "features", manifest, "--output", other, "--length", "8", "--workers", "2",
        "--skip", "text", "--skip", "vision",
    )  # fmt: skip
    assert status == 0 and "8 clip(s) extracted" in printed, printed
    one, two = load_dataset(folder), load_dataset(other)
    assert two.modality_dims == {"audio": 57}
    for name, split in two.splits.items():
        np.testing.assert_array_equal(split.ids, one[name].ids)
        np.testing.assert_array_equal(
            split.features["audio"], one[name].features["audio"]
        )


def test_workers_that_cannot_load_their_extractors_report_it_per_clip(tmp_path):
    from keras_umdf.features.extraction import ExtractorSettings
    from keras_umdf.features.extraction import extract_manifest
    from keras_umdf.features.manifest import read_manifest

    manifest = tmp_path / "clips.json"
    manifest.write_text(json.dumps([{"id": "a", "transcript": "hi"}, {"id": "b"}]))
    settings = ExtractorSettings(
        audio=False, vision=False, text_encoder=str(tmp_path / "no_encoder")
    )
    report = extract_manifest(
        read_manifest(str(manifest)), str(tmp_path / "out"), settings,
        workers=2, progress=None,
    )  # fmt: skip
    assert (report["extracted"], report["failed"]) == (0, 2)
    assert all(
        "could not load its extractors" in e["error"] and "no_encoder" in e["error"]
        for e in report["errors"]
    ), report["errors"]
