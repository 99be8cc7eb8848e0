"""The standard train/valid/test video folds of CMU-MOSI and CMU-MOSEI, and the
folds `load_csd` is given."""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Mapping
from collections.abc import Sequence

STANDARD_FOLDS = ("mosi", "mosei")
"""Datasets whose standard train/valid/test video folds ship with keras_umdf."""

ALL_SPLIT = "all"
"""The one split `load_csd` returns when no folds are given."""


def standard_folds(dataset: str) -> dict[str, list[str]]:
    """The standard CMU-MOSI or CMU-MOSEI folds: split -> list of video ids.

    The lists are data transcribed from the CMU-MultimodalSDK
    (github.com/A2Zadeh/CMU-MultimodalSDK, commit fd18d71,
    `mmsdk/mmdatasdk/dataset/standard_datasets/CMU_MOSI/cmu_mosi_std_folds.py`
    and `CMU_MOSEI/cmu_mosei_std_folds.py`, `standard_{train,valid,test}_fold`)
    and ship in `keras_umdf/data/standard_folds.json`. MOSI: 52 / 10 / 31
    videos (1284 / 229 / 686 segments); MOSEI: 2249 / 300 / 678 videos.

    Args:
        dataset: "mosi" or "mosei".

    Returns:
        {"train": [...], "valid": [...], "test": [...]} of video ids.

    Raises:
        ValueError: `dataset` is not one of `STANDARD_FOLDS`.
    """
    if dataset not in STANDARD_FOLDS:
        raise ValueError(
            f"Standard folds ship for {STANDARD_FOLDS}; received {dataset!r}. "
            "For other data pass folds={'train': [video ids], 'valid': [...], "
            "'test': [...]}."
        )
    resource = importlib.resources.files("keras_umdf.data") / "standard_folds.json"
    folds = json.loads(resource.read_text(encoding="utf-8"))[dataset]
    return {split: list(videos) for split, videos in folds.items()}


def resolve_folds(
    folds: str | Mapping[str, Sequence[str]] | None, videos: Sequence[str]
) -> dict[str, list[str]]:
    """`load_csd`'s `folds` as split -> video ids: None puts every video in
    `ALL_SPLIT`; "mosi" or "mosei" gives the standard folds."""
    if folds is None:
        return {ALL_SPLIT: list(videos)}
    if isinstance(folds, str):
        folds = standard_folds(folds)
    if not isinstance(folds, Mapping) or not folds:
        raise ValueError(
            "folds must be None, 'mosi', 'mosei' or a dict split -> list of video "
            f"ids; received {folds!r}."
        )
    result = {}
    for split, members in folds.items():
        if isinstance(members, str):
            raise ValueError(
                f"folds[{split!r}] must be a list of video ids; received the "
                f"string {members!r}."
            )
        result[str(split)] = [str(v) for v in members]
    return result
