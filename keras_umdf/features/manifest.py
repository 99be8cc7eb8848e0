"""The list of clips `keras-umdf features` extracts: a CSV or JSON manifest.

One row (CSV) or object (JSON: a list of objects, or `{"clips": [...]}`) per
clip, with these fields; relative paths are read from the manifest's folder:

- `id` (required): the clip's name, unique in the manifest.
- `media`: its video or audio file (mp4, mkv, wav, ...); empty when there is
  none (then only the text is extracted).
- `transcript`: the spoken text; or `transcript_file`, a UTF-8 text file
  holding it. Neither: the clip has no transcript (text missing).
- `words`: word timings. In a JSON manifest, a list of `[word, start, end]`
  or of `{"word": ..., "start": ..., "end": ...}` (seconds); in either
  manifest, `words_file`, a CSV file with the columns `word,start,end` or a
  JSON file holding such a list. With timings the words are the transcript.
- `label`: the clip's sentiment score in [-3, 3] (regression) or its class
  index; empty for clips to predict.
- `split`: "train", "valid" or "test"; default "train".
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os

from keras_umdf.data.multimodal_dataset import REGRESSION_RANGE
from keras_umdf.features.base import Clip
from keras_umdf.features.base import Word

FIELDS = ("id", "media", "transcript", "transcript_file", "words", "words_file")
FIELDS += ("label", "split")
SPLITS = ("train", "valid", "test")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One manifest row: the clip, its label (None: unlabelled) and split."""

    clip: Clip
    label: float | None
    split: str


def read_manifest(path: str) -> list[Entry]:
    """Reads a CSV or JSON manifest (see the module's docstring).

    Raises:
        FileNotFoundError: the manifest, or a file it names, does not exist.
        ValueError: an unknown column, a missing or repeated id, a bad label,
            split or word timing, naming the row.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No manifest file at {path!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    extension = os.path.splitext(path)[1].lower()
    if extension == ".csv":
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    elif extension == ".json":
        with open(path, encoding="utf-8") as file:
            try:
                rows = json.load(file)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path!r} is not valid JSON: {error}.") from None
        if isinstance(rows, dict):
            rows = rows.get("clips")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(
                f"{path!r}: a JSON manifest is a list of objects (one per clip) "
                'or {"clips": [...]}.'
            )
    else:
        raise ValueError(
            f"Manifest {path!r} must end in .csv or .json; received "
            f"{extension or 'no extension'}."
        )
    if not rows:
        raise ValueError(f"Manifest {path!r} lists no clips.")
    entries, seen = [], set()
    for number, row in enumerate(rows, start=1):
        where = f"{path!r}, clip {number}"
        unknown = sorted(set(row) - set(FIELDS))
        if unknown:
            raise ValueError(
                f"{where}: unknown field(s) {unknown}; the fields are {list(FIELDS)}."
            )
        entry = _entry(row, folder, where)
        if entry.clip.id in seen:
            raise ValueError(f"{where}: id {entry.clip.id!r} appears twice.")
        seen.add(entry.clip.id)
        entries.append(entry)
    return entries


def _entry(row: dict, folder: str, where: str) -> Entry:
    clip_id = _text(row.get("id"))
    if not clip_id:
        raise ValueError(f"{where}: every clip needs an id.")
    where = f"{where} ({clip_id!r})"
    media = _path(row.get("media"), folder, where, "media")
    transcript = _text(row.get("transcript")) or None
    transcript_file = _path(
        row.get("transcript_file"), folder, where, "transcript_file"
    )
    if transcript_file is not None:
        if transcript is not None:
            raise ValueError(f"{where}: give transcript or transcript_file, not both.")
        with open(transcript_file, encoding="utf-8") as file:
            transcript = file.read().strip() or None
    words = _words(row, folder, where)
    if words is not None and transcript is None:
        transcript = " ".join(word.text for word in words)
    split = _text(row.get("split")) or "train"
    if split not in SPLITS:
        raise ValueError(f"{where}: split {split!r} is not one of {SPLITS}.")
    return Entry(
        Clip(clip_id, media, transcript, words), _label(row.get("label"), where), split
    )


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _path(value, folder: str, where: str, field: str) -> str | None:
    value = _text(value)
    if not value:
        return None
    path = os.path.join(folder, os.path.expanduser(value))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where}: {field} {value!r} is not a file ({path}).")
    return path


def _label(value, where: str) -> float | None:
    value = _text(value)
    if not value:
        return None
    try:
        label = float(value)
    except ValueError:
        raise ValueError(f"{where}: label {value!r} is not a number.") from None
    low, high = REGRESSION_RANGE
    if not math.isfinite(label) or not low <= label <= high:
        raise ValueError(
            f"{where}: label {value!r} is not a sentiment score in [{low:g}, "
            f"{high:g}] (the CMU-MOSI scale the features folder is read with)."
        )
    return label


def _words(row: dict, folder: str, where: str) -> tuple[Word, ...] | None:
    inline = row.get("words")
    words_file = _path(row.get("words_file"), folder, where, "words_file")
    if inline not in (None, "") and words_file is not None:
        raise ValueError(f"{where}: give words or words_file, not both.")
    if words_file is not None:
        return read_words(words_file, where)
    if isinstance(inline, str) and inline.strip():
        try:
            inline = json.loads(inline)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: words is not valid JSON: {error}.") from None
    if inline in (None, ""):
        return None
    return parse_words(inline, where)


def read_words(path: str, where: str) -> tuple[Word, ...] | None:
    """Word timings from a CSV file (columns word,start,end) or a JSON file (a
    list of [word, start, end] or {"word", "start", "end"})."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where}: no word-timings file {path!r}.")
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as file:
            try:
                items = json.load(file)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{where}: {path!r} is not valid JSON: {error}."
                ) from None
    else:
        with open(path, newline="", encoding="utf-8") as file:
            items = [
                [r.get("word"), r.get("start"), r.get("end")]
                for r in csv.DictReader(file)
            ]
    return parse_words(items, where)


def parse_words(items, where: str) -> tuple[Word, ...] | None:
    """Checks and converts a list of [word, start, end] (or dicts)."""
    if not isinstance(items, list):
        raise ValueError(
            f"{where}: words must be a list of [word, start, end]; received "
            f"{type(items).__name__}."
        )
    words = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            item = [item.get("word"), item.get("start"), item.get("end")]
        try:
            text, start, end = item
            start, end = float(start), float(end)
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: word {index} is {item!r}; each word is [word, start, "
                "end] with the times in seconds."
            ) from None
        if not (math.isfinite(start) and math.isfinite(end)) or not 0 <= start <= end:
            raise ValueError(
                f"{where}: word {index} ({text!r}) runs from {start} to {end} s; "
                "times must be finite, start >= 0 and start <= end."
            )
        words.append(Word(str(text), start, end))
    return tuple(words) or None
