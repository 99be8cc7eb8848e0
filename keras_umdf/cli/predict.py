"""`keras-umdf predict`: a saved model's predictions for a file of samples."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os

import numpy as np

from keras_umdf.cli.argument_types import finite_float
from keras_umdf.cli.dataset_options import DATASET_FORMATS
from keras_umdf.modalities import MODALITIES

DESCRIPTION = """\
Predict with a saved .keras model, from raw clips or from features.

CLIP (a video or audio file, or a .csv/.json manifest of clips as `keras-umdf
features` reads them) runs the extractors the model's training features came
from (the model records them) and predicts each clip, reporting which
modalities were found in it; --transcript (or --words, a file of word timings)
gives a single clip's text. Needs the features extra.

--input instead is an .npz file of modality arrays
(keys text, audio, vision, each (N, T, d); leave a key out when that modality is
missing; an optional 'ids' array names the samples) or any dataset the other
commands read (one split, --split). Missing modalities are zero, as the model was
trained; --condition removes more of them. Writes one row per sample to --output
(.csv or .json): the prediction (sentiment score; class and class probabilities;
or per label the decision and its probability) and the label when the input has
one.
"""


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "predict",
        help="predict with a saved model on a file of samples (missing "
        "modalities allowed); write CSV or JSON",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "clip",
        nargs="?",
        help="a video or audio file, or a .csv/.json manifest of clips (instead "
        "of --input)",
    )
    parser.add_argument("--model", required=True, help="the .keras model file")
    parser.add_argument(
        "--input",
        help="an .npz of modality arrays, or a dataset (MulT/MMSA pickle, "
        "features folder, synthetic name, ...)",
    )
    parser.add_argument("--transcript", help="CLIP's transcript (one clip)")
    parser.add_argument(
        "--words", help="CLIP's word timings: a CSV (word,start,end) or JSON file"
    )
    parser.add_argument(
        "--length",
        type=int,
        help="rows per modality for CLIP (default: the length the model's "
        "training features were extracted at, or 50)",
    )
    parser.add_argument(
        "--text-encoder", help="all-MiniLM-L6-v2's files for CLIP (default: installed)"
    )
    parser.add_argument(
        "--format",
        choices=("npz", *DATASET_FORMATS),
        default=None,
        help="the input's format; inferred from --input when left out",
    )
    parser.add_argument(
        "--split", default="test", help="the split of a dataset input (default test)"
    )
    parser.add_argument(
        "--data-seed", type=int, default=0, help="seed of a synthetic dataset input"
    )
    parser.add_argument(
        "--scale",
        type=finite_float,
        default=1.0,
        help="fraction of the real split sizes for a synthetic dataset input",
    )
    parser.add_argument(
        "--condition",
        default="lav",
        help="the modalities to use, letters of lav (default all that the input has)",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--output", required=True, help="the predictions file, .csv or .json"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --output file"
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_umdf.evaluation.protocol import predict_split
    from keras_umdf.evaluation.task_metrics import task_kind
    from keras_umdf.experiments.model_file import check_model_fits_data
    from keras_umdf.experiments.model_file import load_umdf_model
    from keras_umdf.modalities import condition_modalities

    output = args.output
    extension = os.path.splitext(output)[1].lower()
    if extension not in (".csv", ".json"):
        raise ValueError(
            f"--output {output!r}: the predictions are written as .csv or .json; "
            "name the file accordingly."
        )
    if os.path.exists(output) and not args.overwrite:
        raise FileExistsError(
            f"--output {output!r} already exists; choose another file or pass "
            "--overwrite to replace it."
        )
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1; received {args.batch_size}.")
    requested = condition_modalities(args.condition)
    if (args.clip is None) == (args.input is None):
        raise ValueError(
            "Give either a CLIP (video, audio or manifest file) or --input (an "
            ".npz or a dataset), not " + ("both." if args.clip else "neither.")
        )
    if args.clip is None and (args.transcript or args.words or args.length):
        raise ValueError(
            "--transcript, --words and --length go with a CLIP, not --input."
        )
    model = load_umdf_model(args.model)
    found = None
    if args.clip is not None:
        split, has_labels, found = _extract_clips(args, model)
        source, available = None, tuple(model.modalities)
    else:
        split, has_labels, source, available = _read_input(args, model)
    if source is not None:
        check_model_fits_data(model, source)
    present = [m for m in requested if m in available]
    if not present:
        raise ValueError(
            f"--condition {args.condition!r} keeps {list(requested)} but the input "
            f"has only {list(available)}; nothing to predict from."
        )
    condition = "".join(
        code for code, m in zip("lav", MODALITIES, strict=True) if m in present
    )
    predictions = predict_split(
        model, split, condition=condition, batch_size=args.batch_size
    )
    kind = task_kind(model)
    names = getattr(source, "label_names", None) if source is not None else None
    rows = prediction_rows(
        predictions,
        kind,
        ids=split.ids,
        labels=split.labels if has_labels else None,
        label_names=names,
    )
    if found is not None:
        for row, clip_found in zip(rows, found, strict=True):
            row["found"] = " ".join(m for m in MODALITIES if clip_found.get(m))
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    if extension == ".csv":
        text = _csv(rows)
    else:
        text = json.dumps(
            {
                "model": os.path.abspath(args.model),
                "input": args.input or args.clip,
                "modalities": present,
                "predictions": rows,
            },
            indent=1,
        )
    with open(output, "w" if args.overwrite else "x", newline="") as file:
        file.write(text)
    print(
        f"wrote {len(rows)} predictions from {', '.join(present)} to {output}"
        + (f" (missing: {', '.join(m for m in model.modalities if m not in present)})"
           if len(present) < len(model.modalities) else "")
    )  # fmt: skip
    return 0


def _extract_clips(args, model):
    """Extracts CLIP (one media file or a manifest) with the model's own
    extractors. Returns (Split, whether every clip has a label, per clip the
    dict modality -> whether it was found)."""
    from keras_umdf.data import Split
    from keras_umdf.features.assemble import clip_arrays
    from keras_umdf.features.base import Clip
    from keras_umdf.features.extraction import extractors_for
    from keras_umdf.features.manifest import Entry
    from keras_umdf.features.manifest import read_manifest
    from keras_umdf.features.manifest import read_words

    if model.feature_extractors is None:
        raise ValueError(
            f"The model {args.model!r} was not trained on features from "
            "keras-umdf features, so the extractors of its inputs are unknown; "
            "predict from features with --input."
        )
    recorded = sorted({e["length"] for e in model.feature_extractors if "length" in e})
    length = args.length
    if length is None:
        length = recorded[0] if len(recorded) == 1 else 50
    if length < 1:
        raise ValueError(f"--length must be >= 1; received {length}.")
    if recorded and length not in recorded:
        raise ValueError(
            f"--length {length}: the model's training features were extracted at "
            f"{recorded[0]} rows per clip; leave --length out to use it."
        )
    path = args.clip
    if path.lower().endswith((".csv", ".json")):
        if args.transcript or args.words:
            raise ValueError(
                "--transcript and --words are for a single media file; a manifest "
                "gives each clip's own."
            )
        entries = read_manifest(path)
    else:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"CLIP {path!r} is not a file.")
        words = read_words(args.words, "--words") if args.words else None
        transcript = args.transcript
        if words and not transcript:
            transcript = " ".join(word.text for word in words)
        clip = Clip(os.path.basename(path), path, transcript, words)
        entries = [Entry(clip, None, "test")]
    extractors = extractors_for(model.feature_extractors, args.text_encoder)
    features = {m: [] for m in model.modalities}
    found = []
    for entry in entries:
        arrays, clip_found = clip_arrays(entry.clip, extractors, length)
        for m in model.modalities:
            width = model.modality_dims[m]
            features[m].append(arrays.get(m, np.zeros((length, width), np.float32)))
        found.append(clip_found)
    labels = [entry.label for entry in entries]
    has_labels = all(label is not None for label in labels)
    split = Split(
        features={m: np.stack(v) for m, v in features.items()},
        labels=np.asarray(
            [0.0 if label is None else label for label in labels], np.float32
        ),
        ids=np.asarray([entry.clip.id for entry in entries]),
    )
    return split, has_labels, found


def _read_input(args, model):
    """Returns (Split, whether it has real labels, the dataset or None, the
    modalities the input holds)."""
    from keras_umdf.data import Split

    path = args.input
    is_npz = args.format == "npz" or (
        args.format is None and path.lower().endswith(".npz")
    )
    if not is_npz:
        from keras_umdf.cli.dataset_options import load_dataset_from_args

        dataset_args = _DatasetArgs(path, args.format, args.data_seed, args.scale)
        data = load_dataset_from_args(dataset_args)
        if args.split not in data.splits:
            raise ValueError(
                f"--split {args.split!r}: the dataset has splits {sorted(data.splits)}."
            )
        return data[args.split], True, data, tuple(data.modalities)
    if not os.path.exists(path):
        raise FileNotFoundError(f"--input: no file {path!r}.")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"--input {path!r} is not a readable .npz file: {error}"
        ) from None
    with archive:
        arrays = {}
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except (OSError, ValueError) as error:
                raise ValueError(
                    f"--input {path!r}: array {key!r} cannot be read ({error}); "
                    "save numeric arrays, e.g. np.savez(path, text=x.astype("
                    "'float32')), not Python objects."
                ) from None
    features, ids = _npz_features(arrays, model, path)
    num = next(iter(features.values())).shape[0]
    split = Split(features=features, labels=np.zeros(num, np.float32), ids=ids)
    return split, False, None, tuple(m for m in features if m in arrays)


def _npz_features(arrays: dict, model, path: str):
    id_keys = [k for k in ("ids", "id") if k in arrays]
    unknown = sorted(set(arrays) - set(model.modalities) - {"ids", "id"})
    if unknown:
        raise ValueError(
            f"--input {path!r} has arrays {unknown}, which are not modalities of "
            f"the model {list(model.modalities)}; name the arrays text, audio, "
            "vision (and optionally ids)."
        )
    present = [m for m in model.modalities if m in arrays]
    if not present:
        raise ValueError(
            f"--input {path!r} holds none of the model's modalities "
            f"{list(model.modalities)}; its arrays are {sorted(arrays)}."
        )
    features = {}
    num = None
    for m in present:
        x = np.asarray(arrays[m])
        width = model.modality_dims[m]
        if x.ndim != 3 or x.shape[-1] != width:
            raise ValueError(
                f"--input {path!r}: {m!r} has shape {x.shape} but the model takes "
                f"(N, T, {width}); pass features of the width it was trained on."
            )
        if num is not None and x.shape[0] != num:
            raise ValueError(
                f"--input {path!r}: {m!r} has {x.shape[0]} samples, "
                f"{present[0]!r} has {num}; every array needs the same N."
            )
        num = x.shape[0]
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError(f"--input {path!r}: {m!r} holds NaN or inf values.")
        features[m] = x
    steps = features[present[0]].shape[1]
    for m in model.modalities:
        if m not in features:
            features[m] = np.zeros((num, steps, model.modality_dims[m]), np.float32)
    if id_keys:
        ids = np.asarray(arrays[id_keys[0]]).astype(str).reshape(-1)
        if ids.shape != (num,):
            raise ValueError(
                f"--input {path!r}: 'ids' has {ids.size} entries for {num} samples."
            )
    else:
        ids = np.arange(num).astype(str)
    return features, ids


class _DatasetArgs:
    def __init__(self, dataset, format, data_seed, scale):
        self.dataset = dataset
        self.format = None if format == "npz" else format
        self.data_seed = data_seed
        self.scale = scale


def prediction_rows(predictions, kind: str, *, ids, labels=None, label_names=None):
    """One dict per sample: id, prediction(s) and the label where known.

    - regression: "prediction" (the sentiment score);
    - classification: "predicted_class" and "probability_<c>" per class;
    - multi-label: per label "<name>" (1 if present) and "<name>_probability".
    """
    predictions = np.asarray(predictions, np.float64)
    rows = []
    if kind == "regression":
        for i, value in enumerate(predictions.reshape(-1)):
            rows.append({"id": str(ids[i]), "prediction": float(value)})
    elif kind == "classification":
        probabilities = _softmax(predictions)
        for i, p in enumerate(probabilities):
            row = {"id": str(ids[i]), "predicted_class": int(np.argmax(p))}
            row.update({f"probability_{c}": float(v) for c, v in enumerate(p)})
            rows.append(row)
    else:
        probabilities = _softmax(predictions)[..., 1]
        names = list(
            label_names or [f"label_{k}" for k in range(probabilities.shape[1])]
        )
        for i, p in enumerate(probabilities):
            row = {"id": str(ids[i])}
            for name, value in zip(names, p, strict=True):
                row[name] = int(value > 0.5)
                row[f"{name}_probability"] = float(value)
            rows.append(row)
    if labels is not None:
        labels = np.asarray(labels)
        for i, row in enumerate(rows):
            if labels.ndim == 2:
                names = list(label_names or range(labels.shape[1]))
                row.update(
                    {
                        f"label_{n}": int(v)
                        for n, v in zip(names, labels[i], strict=True)
                    }
                )
            else:
                row["label"] = labels[i].item()
    return rows


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
