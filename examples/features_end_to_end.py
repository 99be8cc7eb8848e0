"""From raw clips to a trained UMDF and a prediction, offline.

    pip install "keras-umdf[features]" scikit-image
    python examples/features_end_to_end.py --output runs/features-demo
    python examples/features_end_to_end.py --manifest my_clips.csv --output runs/mine

1. Clips: your manifest (see docs/features.md), or, without --manifest, 48 demo
   clips made on the spot (`keras_umdf.features.demo_clips`: a voice-like tone,
   scikit-image's sample portrait and a few words, each carrying the label;
   some clips miss their face, sound or transcript).
2. `keras-umdf features`: text, audio and vision features into OUTPUT/features.
3. `keras-umdf train`: UMDF on them, tested under the seven modality conditions
   (the results table ends with the predict-the-mean baseline).
4. `keras-umdf predict`: a new clip, from its media file and transcript.

The demo clips are a smoke test of the whole path, not evidence about UMDF:
their labels are written into every modality on purpose.
"""

import argparse
import os
import sys

from keras_umdf.cli import main as keras_umdf


def run(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", help="your clips (default: make demo clips)")
    parser.add_argument("--output", required=True, help="a new folder")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--clips", type=int, default=48, help="demo clips to make")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if os.path.exists(args.output):
        parser.error(f"--output {args.output!r} exists; give a new folder.")
    manifest = args.manifest
    if manifest is None:
        from keras_umdf.features.demo_clips import write_demo_clips

        manifest = write_demo_clips(
            os.path.join(args.output, "clips"), count=args.clips
        )
        print(f"made {args.clips} demo clips: {manifest}")
    features = os.path.join(args.output, "features")
    steps = [
        ["features", manifest, "--output", features, "--workers", str(args.workers)],
        # Small data: batches of 4, the paper's MOSI architecture otherwise.
        [
            "train", "--dataset", features, "--output",
            os.path.join(args.output, "run"), "--epochs", str(args.epochs),
            "--batch-size", "4", "--verbose", "0",
        ],
    ]  # fmt: skip
    for step in steps:
        print(f"\n$ keras-umdf {' '.join(step)}")
        status = keras_umdf(step)
        if status:
            return status
    clip, transcript = _new_clip(args.output, manifest)
    predict = [
        "predict", clip, "--transcript", transcript, "--model",
        os.path.join(args.output, "run", "model.keras"), "--output",
        os.path.join(args.output, "prediction.json"),
    ]  # fmt: skip
    print(f"\n$ keras-umdf {' '.join(predict)}")
    status = keras_umdf(predict)
    if not status:
        with open(os.path.join(args.output, "prediction.json")) as file:
            print(file.read())
    return status


def _new_clip(output, manifest):
    """A clip the model has not seen: a new demo clip of a positive label, or
    the first test clip of your manifest."""
    from keras_umdf.features.manifest import read_manifest

    entries = read_manifest(manifest)
    if os.path.dirname(manifest) == os.path.join(output, "clips"):
        from keras_umdf.features.demo_clips import harmonic_tone
        from keras_umdf.features.demo_clips import portrait
        from keras_umdf.features.media import write_video

        path = os.path.join(output, "new_clip.mp4")
        write_video(path, [portrait()] * 16, 10, harmonic_tone(1.6, 210.0))
        return path, "great wonderful happy best"
    test = [e for e in entries if e.split == "test" and e.clip.media] or entries
    return test[0].clip.media, test[0].clip.transcript or ""


if __name__ == "__main__":
    sys.exit(run())
