"""One CMU-MultimodalSDK computational sequence (`.csd`, HDF5): opening it with
errors that name the file, its metadata, and one video's features and intervals.

A computational sequence is an HDF5 file with one root group (named after the
sequence, e.g. "Opinion Segment Labels") holding `data/<video id>/features`
(T x D) and `data/<video id>/intervals` (T x 2, start and end in seconds) per
video, and `metadata/<key>`, each a JSON-encoded string.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np


def read_csd_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a computational sequence, each entry JSON-decoded.

    Args:
        path: a `.csd` file.

    Returns:
        {"root name": ..., key: value, ...}: the root group's name and every
        `metadata/<key>` entry (JSON-decoded, or the raw string where it is not
        JSON).

    Raises:
        FileNotFoundError, ValueError: as `load_csd`.
    """
    with open_csd(path) as (_, root):
        metadata = {"root name": root.name.lstrip("/")}
        group = root.get("metadata")
        if isinstance(group, h5py.Group):
            for key, dataset in group.items():
                value = dataset[()]
                if isinstance(value, np.ndarray):
                    value = value.reshape(-1)[0] if value.size else ""
                if isinstance(value, bytes):
                    value = value.decode("utf-8", errors="replace")
                try:
                    metadata[key] = json.loads(value)
                except (TypeError, ValueError):
                    metadata[key] = value
    return metadata


@contextlib.contextmanager
def open_csd(
    path: str | os.PathLike, role: str = "computational sequence"
) -> Iterator[tuple[str, h5py.Group]]:
    """Opens a .csd and yields (path, root group), with errors that name the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{role} file not found: {path!r}; pass the path of a "
            "CMU-MultimodalSDK .csd file."
        )
    if not h5py.is_hdf5(path):
        with open(path, "rb") as file:
            head = file.read(2)
        hint = (
            " It looks like a Python pickle: use load_mult_pickle or load_mmsa_pickle."
            if head[:1] == b"\x80"
            else ""
        )
        raise ValueError(
            f"{path!r} is not an HDF5 file, so not a CMU-MultimodalSDK "
            f"computational sequence (.csd).{hint}"
        )
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        reason = " ".join(str(error).split())
        raise ValueError(
            f"{path!r} is a damaged HDF5 file ({reason}), so its computational "
            "sequence cannot be read; download or copy the .csd file again."
        ) from error
    with file:
        roots = [
            key
            for key, value in file.items()
            if isinstance(value, h5py.Group)
            and isinstance(value.get("data"), h5py.Group)
        ]
        if not roots:
            found = {
                key: list(value) if isinstance(value, h5py.Group) else "dataset"
                for key, value in file.items()
            }
            raise ValueError(
                f"{path!r} is HDF5 but not a computational sequence: no root "
                f"group with a 'data' group (found {found}). A .csd holds "
                "<root name>/data/<video id>/{features, intervals}."
            )
        yield path, file[roots[0]]


def read_video(
    data: h5py.Group, video: str, path: str
) -> tuple[np.ndarray, np.ndarray]:
    """One video's features (T, D) and intervals (T, 2) from a sequence's `data`
    group, checked (`path` names the file in errors)."""
    entry = data[video]
    if (
        not isinstance(entry, h5py.Group)
        or "features" not in entry
        or ("intervals" not in entry)
    ):
        found = list(entry) if isinstance(entry, h5py.Group) else "a dataset"
        raise KeyError(
            f"{path!r}: data/{video} must hold 'features' and 'intervals'; it "
            f"has {found}."
        )
    features = np.asarray(entry["features"][()])
    intervals = np.asarray(entry["intervals"][()], dtype=np.float64)
    if features.dtype.kind not in "fiub":
        raise ValueError(
            f"{path!r}: data/{video}/features holds {features.dtype} values, not "
            "numbers. (A TimestampedWords file holds the words themselves; use "
            "the word vectors, e.g. CMU_MOSI_TimestampedWordVectors.csd.)"
        )
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2 or intervals.shape != (features.shape[0], 2):
        raise ValueError(
            f"{path!r}: data/{video} has features {features.shape} and intervals "
            f"{intervals.shape}; a computational sequence needs features (T, D) "
            "and intervals (T, 2) with the same T."
        )
    return features, intervals
