"""Reader of CMU-MultimodalSDK computational sequences (`.csd`, HDF5).

A computational sequence is an HDF5 file with one root group (named after the
sequence, e.g. "Opinion Segment Labels") holding `data/<video id>/features`
(T x D) and `data/<video id>/intervals` (T x 2, start and end in seconds) per
video, and `metadata/<key>`, each a JSON-encoded string. Feature files (GloVe
word vectors, COVAREP, Facet...) have one row per word or frame; a label file
(e.g. `CMU_MOSI_Opinion_Labels.csd`) has one row per labelled segment of the
video. `load_csd` cuts every feature sequence into the labelled segments.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_umdf.data.csd_file import open_csd
from keras_umdf.data.csd_file import read_csd_metadata
from keras_umdf.data.csd_file import read_video
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.data.standard_folds import ALL_SPLIT
from keras_umdf.data.standard_folds import STANDARD_FOLDS
from keras_umdf.data.standard_folds import resolve_folds
from keras_umdf.data.standard_folds import standard_folds

__all__ = [
    "ALL_SPLIT",
    "MISSING",
    "PADDING",
    "STANDARD_FOLDS",
    "load_csd",
    "read_csd_metadata",
    "standard_folds",
]

PADDING = ("pre", "post")
MISSING = ("drop", "zeros", "raise")


def load_csd(
    features: Mapping[str, str | os.PathLike],
    labels: str | os.PathLike,
    *,
    sequence_length: int | Mapping[str, int] = 50,
    folds: str | Mapping[str, Sequence[str]] | None = None,
    label_column: int = 0,
    padding: str = "pre",
    truncating: str = "pre",
    missing: str = "drop",
    neg_inf_to_zero: bool = False,
    nan_to_zero: bool = False,
    name: str | None = None,
) -> MultimodalDataset:
    """Reads CMU-MultimodalSDK computational sequences into a `MultimodalDataset`.

    Every labelled segment of the label file becomes one clip:

    - Overlap rule: a feature row (a word, an audio or video frame) belongs to
      the segment [start, end) when the midpoint of its interval lies in it,
      start <= (t0 + t1) / 2 < end. So each row goes to at most one of
      adjacent segments, and a word is kept whole or not at all. Rows keep the
      file's (temporal) order.
    - Length: each modality is cut to `sequence_length` rows, padded with zero
      rows (zeros mean "missing" throughout keras_umdf). `padding="pre"` (the
      default) puts the zeros in front, so the clip ends at the last frame, the
      one UMDF reads its prediction from, and the layout matches the aligned
      MulT/MMSA arrays and `keras_umdf.data.synthetic`; `truncating="pre"`
      (default) drops the earliest rows of a segment longer than that. These
      are the meanings of `keras.utils.pad_sequences`.
    - Segment ids are "<video id>[<i>]", i the 0-based index of the segment in
      the label file's entry for the video, as the SDK names segments after
      aligning to labels (e.g. "03bSnISJMiM[0]").
    - Labels: column `label_column` of the label features (MOSI's
      Opinion_Labels has one column, the sentiment; MOSEI's All_Labels has
      sentiment first, then six emotions) as a regression score in [-3, 3].
    - Splits: `folds="mosi"` or `"mosei"` uses the standard folds shipped with
      keras_umdf (see `standard_folds`); a dict {"train": [video ids], ...}
      uses yours; None puts every segment in one split named "all". Labelled
      videos outside every fold are left out.
    - A labelled video absent from a feature file: `missing="drop"` leaves its
      segments out (as the SDK's alignment does) with a warning that counts
      them, "zeros" keeps them with that modality all zeros (missing),
      "raise" stops with a KeyError.
    - Features are read one video at a time, so files of several GB are fine;
      the result holds (segments, sequence_length, D) float32 per modality.

    Args:
        features: modality name ("text", "audio", "vision") -> path of its
            .csd, e.g. {"text": "CMU_MOSI_TimestampedWordVectors.csd", ...}.
        labels: path of the label .csd (e.g. "CMU_MOSI_Opinion_Labels.csd").
        sequence_length: rows per clip, one int for every modality or a dict
            modality -> int.
        folds: None, "mosi", "mosei" or a dict split name -> video ids.
        label_column: which column of the label features is the sentiment.
        padding: "pre" (zeros in front, default) or "post".
        truncating: "pre" (drop the earliest rows, default) or "post".
        missing: "drop", "zeros" or "raise" (see above).
        neg_inf_to_zero: map -inf feature values to 0 (COVAREP has some).
        nan_to_zero: map NaN feature values to 0.
        name: the dataset's name in reports; None uses the folds' name or
            "csd".

    Returns:
        A validated regression `MultimodalDataset`.

    Raises:
        FileNotFoundError: a file does not exist (named).
        ValueError: a file is not HDF5 or not a computational sequence, shapes
            are inconsistent (file and video named), an argument is invalid, or
            a fold has no labelled video.
        KeyError: `missing="raise"` and a video is absent from a feature file.

    Example:

    ```python
    data = keras_umdf.data.load_csd(
        {"text": "CMU_MOSI_TimestampedWordVectors.csd",
         "audio": "CMU_MOSI_COVAREP.csd",
         "vision": "CMU_MOSI_Visual_Facet_41.csd"},
        labels="CMU_MOSI_Opinion_Labels.csd",
        folds="mosi", neg_inf_to_zero=True, nan_to_zero=True,
    )
    data["train"].ids[:2]  # ["2iD-tVS8NPw[0]", "2iD-tVS8NPw[1]"]
    ```
    """
    if not isinstance(features, Mapping) or not features:
        raise ValueError(
            "features must be a non-empty dict modality -> .csd path, e.g. "
            f"{{'text': ..., 'audio': ..., 'vision': ...}}; received {features!r}."
        )
    for option, value, allowed in (
        ("padding", padding, PADDING),
        ("truncating", truncating, PADDING),
        ("missing", missing, MISSING),
    ):
        if value not in allowed:
            raise ValueError(
                f"{option} must be one of {allowed}; received {option}={value!r}."
            )
    lengths = _sequence_lengths(sequence_length, features)
    segments, label_path = _read_labels(labels, label_column)
    split_videos = resolve_folds(folds, list(segments))
    plan = {}
    for split, videos in split_videos.items():
        present = [v for v in videos if v in segments]
        if not present:
            raise ValueError(
                f"None of the {len(videos)} videos of split {split!r} (e.g. "
                f"{videos[:3]}) has labels in {label_path!r}; check that the "
                "folds belong to this dataset."
            )
        plan[split] = present
    with contextlib.ExitStack() as stack:
        # Per modality: open once; drop or zero-fill the videos it lacks.
        opened = {}
        paths = {}
        for modality, path in features.items():
            paths[modality], root = stack.enter_context(
                open_csd(path, f"{modality!r} features")
            )
            opened[modality] = root["data"]
        dropped = 0
        for split, videos in plan.items():
            kept = []
            for video in videos:
                absent = [m for m, data in opened.items() if video not in data]
                if absent and missing == "raise":
                    raise KeyError(
                        f"Video {video!r} has labels in {label_path!r} but no "
                        f"features in {paths[absent[0]]!r}. Pass missing='drop' "
                        "or missing='zeros'."
                    )
                if absent and missing == "drop":
                    dropped += len(segments[video][0])
                    continue
                kept.append(video)
            if not kept:
                raise ValueError(
                    f"Every video of split {split!r} lacks features in one of "
                    f"{list(paths.values())}; pass missing='zeros' to keep them "
                    "with zeros."
                )
            plan[split] = kept
        if dropped:
            warnings.warn(
                f"load_csd left out {dropped} labelled segments whose video is "
                "missing from a feature file (missing='drop').",
                stacklevel=2,
            )
        result = {
            split: _build_split(
                videos,
                segments,
                opened,
                paths,
                lengths,
                padding,
                truncating,
                nan_to_zero,
            )
            for split, videos in plan.items()
        }
    default_name = folds if isinstance(folds, str) else "csd"
    try:
        return MultimodalDataset(
            result,
            task="regression",
            name=name or default_name,
            neg_inf_to_zero=neg_inf_to_zero,
        )
    except ValueError as error:
        raise ValueError(
            f"CSD files {list(paths.values())} with labels {label_path!r}: {error}"
        ) from error


def _sequence_lengths(
    sequence_length: int | Mapping[str, int], features: Mapping[str, Any]
) -> dict[str, int]:
    if isinstance(sequence_length, Mapping):
        lengths = dict(sequence_length)
        absent = [m for m in features if m not in lengths]
        if absent:
            raise ValueError(
                f"sequence_length has no entry for {absent}; give one int per "
                f"modality of features ({list(features)})."
            )
    else:
        lengths = {m: sequence_length for m in features}
    for modality, value in lengths.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or (value < 1)
        ):
            raise ValueError(
                f"sequence_length must be a positive int (or a dict of them); "
                f"received {value!r} for {modality!r}."
            )
    return {m: int(lengths[m]) for m in features}


def _read_labels(
    labels: str | os.PathLike, label_column: int
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str]:
    """video -> (scores (S,), intervals (S, 2)) from the label file."""
    segments = {}
    with open_csd(labels, "label") as (path, root):
        data = root["data"]
        for video in data:
            values, intervals = read_video(data, video, path)
            if not -values.shape[1] <= label_column < values.shape[1]:
                raise ValueError(
                    f"label_column={label_column} but {path!r} has "
                    f"{values.shape[1]} label columns (data/{video}/features is "
                    f"{values.shape})."
                )
            segments[video] = (
                values[:, label_column].astype(np.float32),
                intervals,
            )
    if not segments:
        raise ValueError(f"{path!r} has no videos under data/.")
    return segments, path


def _build_split(
    videos, segments, opened, paths, lengths, padding, truncating, nan_to_zero
) -> Split:
    ids = []
    scores = []
    spans = []
    for video in videos:
        values, intervals = segments[video]
        for index in range(values.shape[0]):
            ids.append(f"{video}[{index}]")
        scores.append(values)
        spans.append(intervals)
    num = len(ids)
    features = {}
    for modality, data in opened.items():
        path = paths[modality]
        steps = lengths[modality]
        array = None
        row = 0
        for video, intervals in zip(videos, spans, strict=True):
            if video not in data:  # missing="zeros"
                row += intervals.shape[0]
                continue
            frames, times = read_video(data, video, path)
            if array is None:
                array = np.zeros((num, steps, frames.shape[1]), np.float32)
            elif frames.shape[1] != array.shape[2]:
                raise ValueError(
                    f"{path!r}: data/{video}/features has {frames.shape[1]} "
                    f"dims but other videos have {array.shape[2]}; every video "
                    "of a computational sequence must have the same width."
                )
            if nan_to_zero:
                frames = np.where(np.isnan(frames), 0, frames)
            middle = times.mean(axis=1)
            for start, end in intervals:
                chosen = frames[(middle >= start) & (middle < end)]
                if chosen.shape[0] > steps:
                    chosen = chosen[-steps:] if truncating == "pre" else chosen[:steps]
                count = chosen.shape[0]
                if count:
                    if padding == "pre":
                        array[row, steps - count :] = chosen
                    else:
                        array[row, :count] = chosen
                row += 1
        if array is None:
            raise ValueError(
                f"{path!r} has none of the videos {videos[:3]}...; it cannot "
                f"give {modality!r} features."
            )
        features[modality] = array
    return Split(
        features=features,
        labels=np.concatenate(scores),
        ids=np.array(ids),
    )
