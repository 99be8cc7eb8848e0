"""Reading the split dicts of a MulT or MMSA pickle, with errors that name the file.

Both formats are a dict split name -> dict field name -> array; this module holds
the checks they share. Private: the public readers are `load_mult_pickle` and
`load_mmsa_pickle`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_umdf.data.safe_pickle import safe_pickle_load

ID_SEPARATOR = "$_$"
"""Joins the fields of a multi-field id, as MMSA joins video and clip ids."""


class FileSplits(dict):
    """The split dict read from a file, with its `path`: a reader given it
    names the file in its errors (not "<MulT dict>")."""

    path: str = ""


def source_path(source: Mapping, default: str) -> str:
    """The file a split dict came from (`FileSplits`), else `default`."""
    return getattr(source, "path", "") or default


def load_splits(path: str | os.PathLike, format_name: str) -> tuple[dict, str]:
    """Loads the pickle at `path` (restricted) and checks it is a dict of splits."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        where = "a directory" if os.path.isdir(path) else "missing"
        raise FileNotFoundError(
            f"{format_name} pickle not found: {path!r} is {where}; pass the path "
            "of the .pkl file."
        )
    raw = FileSplits(check_splits(safe_pickle_load(path), path, format_name))
    raw.path = path
    return raw, path


def check_splits(raw: Any, path: str, format_name: str) -> dict:
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"{path!r} holds a {type(raw).__name__}, but a {format_name} pickle "
            "holds a dict of splits ('train', 'valid', 'test')."
        )
    bad = [k for k, v in raw.items() if not isinstance(v, Mapping)]
    if bad:
        raise ValueError(
            f"{path!r}: a {format_name} pickle maps each split to a dict of arrays; "
            f"the entries {bad} are not dicts (top-level keys: {list(raw)})."
        )
    return dict(raw)


def select_splits(
    raw: Mapping, path: str, splits: Sequence[str] | None, default: Sequence[str]
) -> list[str]:
    """The splits to read: `splits`, or those of `default` that the file has."""
    if splits is None:
        chosen = [s for s in default if s in raw]
        if not chosen:
            raise KeyError(
                f"{path!r} has none of the splits {list(default)}; it has "
                f"{list(raw)}. Pass splits=[...] naming the ones to read."
            )
        return chosen
    if isinstance(splits, str):
        splits = [splits]
    missing = [s for s in splits if s not in raw]
    if missing:
        raise KeyError(f"{path!r} has no split {missing[0]!r}; it has {list(raw)}.")
    return list(splits)


def field(
    entry: Mapping, key: str, path: str, split: str, *, required: bool = True
) -> np.ndarray | None:
    """Returns `entry[key]` as an array; a clear KeyError when a required key is absent."""
    if key not in entry:
        if not required:
            return None
        raise KeyError(
            f"{path!r} split {split!r} has no {key!r} array; it has "
            f"{sorted(map(str, entry))}."
        )
    value = entry[key]
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except ValueError as error:
        raise ValueError(
            f"{path!r} split {split!r}: {key!r} is not a rectangular array ({error})."
        ) from error


def check_not_empty(num: int, path: str, split: str) -> None:
    """Raises a ValueError naming the file and split when it holds no clips."""
    if num == 0:
        raise ValueError(
            f"{path!r} split {split!r} holds 0 clips; every split needs data: "
            "fill it or remove it from the file."
        )


def features(
    entry: Mapping, key: str, path: str, split: str, num: int | None
) -> np.ndarray:
    """A (N, T, d) modality array; errors name the file, split and key."""
    array = field(entry, key, path, split)
    if array.ndim != 3:
        raise ValueError(
            f"{path!r} split {split!r}: {key!r} must be (N, T, d); received shape "
            f"{array.shape}."
        )
    if 0 in array.shape[1:]:
        raise ValueError(
            f"{path!r} split {split!r}: {key!r} has shape {array.shape}, "
            f"{'no frames (T = 0)' if array.shape[1] == 0 else 'no feature dimensions'}; "
            "every modality needs at least one frame of at least one value: fix "
            "the file or pad the sequences."
        )
    if num is not None and array.shape[0] != num:
        raise ValueError(
            f"{path!r} split {split!r}: {key!r} has {array.shape[0]} samples but "
            f"the labels have {num}; every array of a split must agree on N."
        )
    if array.dtype.kind not in "fiub":
        raise ValueError(
            f"{path!r} split {split!r}: {key!r} must hold numbers; received dtype "
            f"{array.dtype}."
        )
    return array


def _text(value: Any) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _text(value.item())
    return str(value)


def ids_as_strings(
    ids: np.ndarray | None, num: int, path: str, split: str
) -> np.ndarray:
    """Clip ids as (N,) strings.

    Bytes are decoded as UTF-8; an (N, k) array of fields (MulT stores
    (video id, start, end)) is joined with "$_$"; no ids at all gives
    "<split>$_$<index>".
    """
    if ids is None:
        return np.array([f"{split}{ID_SEPARATOR}{i}" for i in range(num)])
    ids = np.asarray(ids)
    if ids.ndim == 0 or ids.shape[0] != num:
        raise ValueError(
            f"{path!r} split {split!r}: 'id' has shape {ids.shape} but the split "
            f"has {num} samples."
        )
    rows = ids.reshape(num, -1)
    if rows.shape[1] == 1:
        return np.array([_text(row[0]) for row in rows])
    return np.array([ID_SEPARATOR.join(_text(v) for v in row) for row in rows])
