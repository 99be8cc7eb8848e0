"""The folder `keras-umdf features` writes, and reading it back as a dataset.

    DIR/keras_umdf_features.json   what made the features: the extractors
                                   (name, version, width), T, the alignment
    DIR/clips/<n>.npz              one clip: its arrays, id, label and split
    DIR/errors.json                the clips that failed, with the reason

Every file is written whole or not at all (`keras_umdf.data.atomic_file`), so
an interrupted extraction resumes where it stopped: a clip whose file exists
is done. `load_features(DIR)` (and `keras_umdf.data.load_dataset(DIR)`) reads
the folder as a `MultimodalDataset`, so training, the evaluation protocol and
tuning take extracted features like any other dataset.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from keras_umdf.data.atomic_file import atomic_path
from keras_umdf.data.atomic_file import write_text_atomically
from keras_umdf.data.json_index import read_json_index
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split

FORMAT = "keras_umdf.features"
FORMAT_VERSION = 1
METADATA_FILE = "keras_umdf_features.json"
ERRORS_FILE = "errors.json"
CLIPS_FOLDER = "clips"


def is_feature_folder(path) -> bool:
    """Whether `path` is a folder `keras-umdf features` wrote."""
    return os.path.isfile(os.path.join(os.fspath(path), METADATA_FILE))


def clip_file(folder: str, clip_id: str) -> str:
    """The file of clip `clip_id`: named by a hash of the id, so any id (with
    slashes, spaces or non-ASCII letters) makes a valid, unique file name."""
    digest = hashlib.sha256(clip_id.encode("utf-8")).hexdigest()[:24]
    return os.path.join(folder, CLIPS_FOLDER, f"{digest}.npz")


def read_metadata(folder: str) -> dict:
    """The folder's `keras_umdf_features.json`.

    Raises:
        FileNotFoundError: the folder holds none.
        ValueError: the file is another program's, or from a newer keras_umdf.
    """
    path = os.path.join(folder, METADATA_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{folder!r} holds no {METADATA_FILE}: it is not a folder of features "
            "written by `keras-umdf features`."
        )
    return read_json_index(path, FORMAT, FORMAT_VERSION, "keras_umdf features index")


def start_folder(folder: str, metadata: dict) -> None:
    """Creates the folder with its index, or checks an existing one's index
    matches `metadata` (same extractors, length and alignment), so that a
    resumed extraction never mixes features of two kinds.

    Raises:
        ValueError: the folder holds features made another way, or other files.
    """
    metadata = {"format": FORMAT, "version": FORMAT_VERSION, **metadata}
    if is_feature_folder(folder):
        existing = read_metadata(folder)
        keys = ("extractors", "length")
        if any(existing.get(k) != metadata.get(k) for k in keys):
            raise ValueError(
                f"{folder!r} holds features made another way "
                f"({_describe(existing)}) than asked now ({_describe(metadata)}); "
                "give a new --output folder, or the same settings to resume."
            )
        return
    if os.path.isdir(folder) and os.listdir(folder):
        raise ValueError(
            f"{folder!r} exists and holds other files; give a new or empty folder "
            "(nothing in it is overwritten)."
        )
    os.makedirs(os.path.join(folder, CLIPS_FOLDER), exist_ok=True)
    write_text_atomically(
        os.path.join(folder, METADATA_FILE), json.dumps(metadata, indent=2) + "\n"
    )


def _describe(metadata: dict) -> str:
    names = ", ".join(
        f"{e['modality']}: {e['name']} v{e['version']}"
        for e in metadata.get("extractors", [])
    )
    return f"{names}; length {metadata.get('length')}"


def write_clip(
    folder: str, clip_id: str, arrays: dict, found: dict, label, split: str
) -> None:
    """Writes one clip's aligned arrays (modality -> `(T, width)`)."""
    contents = {f"features/{m}": v for m, v in arrays.items()}
    contents.update({f"found/{m}": np.asarray(f) for m, f in found.items()})
    contents["id"] = np.asarray(clip_id)
    contents["split"] = np.asarray(split)
    contents["label"] = np.asarray(np.nan if label is None else label, np.float64)
    with atomic_path(clip_file(folder, clip_id)) as temporary:
        with open(temporary, "wb") as file:
            np.savez(file, **contents)


def done_ids(folder: str) -> set[str]:
    """The ids of the clips already written (their files exist whole)."""
    clips = os.path.join(folder, CLIPS_FOLDER)
    if not os.path.isdir(clips):
        return set()
    done = set()
    for name in os.listdir(clips):
        if name.endswith(".npz") and ".tmp" not in name:
            with np.load(os.path.join(clips, name)) as contents:
                done.add(str(contents["id"]))
    return done


def write_errors(folder: str, errors: list[dict]) -> None:
    """Records the failed clips (`[{"id", "media", "error"}]`), or removes the
    record when none failed."""
    path = os.path.join(folder, ERRORS_FILE)
    if errors:
        write_text_atomically(path, json.dumps(errors, indent=2) + "\n")
    elif os.path.exists(path):
        os.remove(path)


def read_clips(folder: str) -> list[dict]:
    """Every written clip: dicts of "id", "split", "label" (None when
    unlabelled), "features" (modality -> array) and "found", sorted by id."""
    clips = os.path.join(folder, CLIPS_FOLDER)
    records = []
    for name in sorted(os.listdir(clips)) if os.path.isdir(clips) else []:
        if not name.endswith(".npz") or ".tmp" in name:
            continue
        with np.load(os.path.join(clips, name)) as contents:
            label = float(contents["label"])
            records.append(
                {
                    "id": str(contents["id"]),
                    "split": str(contents["split"]),
                    "label": None if np.isnan(label) else label,
                    "features": {
                        k.split("/", 1)[1]: contents[k]
                        for k in contents.files
                        if k.startswith("features/")
                    },
                    "found": {
                        k.split("/", 1)[1]: bool(contents[k])
                        for k in contents.files
                        if k.startswith("found/")
                    },
                }
            )
    return sorted(records, key=lambda record: record["id"])


def load_features(folder) -> MultimodalDataset:
    """The folder's clips as a regression `MultimodalDataset` (one split per
    split name the manifest used).

    Raises:
        ValueError: the folder holds no clips, or a clip without a label.
    """
    folder = os.fspath(folder)
    metadata = read_metadata(folder)
    records = read_clips(folder)
    if not records:
        raise ValueError(
            f"{folder!r} holds no extracted clips yet; run `keras-umdf features` "
            "(see its errors.json if every clip failed)."
        )
    unlabelled = [r["id"] for r in records if r["label"] is None]
    if unlabelled:
        raise ValueError(
            f"{folder!r}: {len(unlabelled)} clip(s) have no label (e.g. "
            f"{unlabelled[0]!r}); a dataset to train or evaluate on needs a label "
            "per clip (keras-umdf predict takes unlabelled clips)."
        )
    splits = {}
    for name in sorted({r["split"] for r in records}):
        chosen = [r for r in records if r["split"] == name]
        splits[name] = Split(
            features={
                m: np.stack([r["features"][m] for r in chosen])
                for m in chosen[0]["features"]
            },
            labels=np.asarray([r["label"] for r in chosen], np.float32),
            ids=np.asarray([r["id"] for r in chosen]),
        )
    return MultimodalDataset(
        splits,
        task="regression",
        name=os.path.basename(os.path.abspath(folder)),
        # The rows per clip go with each extractor's record: a model trained
        # on these features predicts new clips aligned the same way.
        feature_extractors=tuple(
            {**spec, "length": metadata["length"]} for spec in metadata["extractors"]
        ),
    )
