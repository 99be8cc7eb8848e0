"""Extracting a whole manifest: worker processes, resuming, a per-clip report.

`extract_manifest` runs the extractors over every clip of a manifest that its
output folder does not hold yet, in `workers` processes (each builds its own
extractors once), writes each clip as soon as it is done
(`keras_umdf.features.store`), and records the clips that failed, with the
reason, in `errors.json` instead of stopping: one unreadable file does not
lose the rest of a long run, and running the command again retries only the
failed and missing clips.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
import time

from keras_umdf.features import store
from keras_umdf.features.assemble import clip_arrays
from keras_umdf.features.base import Extractor
from keras_umdf.features.manifest import Entry

MODALITY_ORDER = ("text", "audio", "vision")

EXTRACTOR_CLASSES = {
    "text": "SentenceEncoderStates",
    "audio": "AcousticDescriptors",
    "vision": "FaceDescriptors",
}
"""Each modality's extractor in `keras_umdf.features` (imported on first use)."""


def extractor_class(modality: str):
    """The extractor class of `modality`, or None where there is none."""
    from keras_umdf import features

    name = EXTRACTOR_CLASSES.get(modality)
    return None if name is None else getattr(features, name)


@dataclasses.dataclass(frozen=True)
class ExtractorSettings:
    """Which extractors to run, and their options (what worker processes get).

    Attributes:
        text: run the text extractor (`SentenceEncoderStates`).
        audio: run the audio extractor (`AcousticDescriptors`).
        vision: run the vision extractor (`FaceDescriptors`).
        text_encoder: the text encoder's files (a folder or .zip), or None for
            the installed default.
        fps: video frames per second the vision extractor reads, or None for
            its default.
    """

    text: bool = True
    audio: bool = True
    vision: bool = True
    text_encoder: str | None = None
    fps: float | None = None

    def build(self) -> dict[str, Extractor]:
        """The extractors, modality -> extractor (loads their models)."""
        options = {
            "text": {"encoder": self.text_encoder},
            "audio": {},
            "vision": {} if self.fps is None else {"fps": self.fps},
        }
        extractors = {
            m: extractor_class(m)(**options[m])
            for m in MODALITY_ORDER
            if getattr(self, m)
        }
        if not extractors:
            raise ValueError(
                "No extractor chosen: keep at least one of text, audio and vision."
            )
        return extractors


def extractors_for(specs, text_encoder: str | None = None, fps: float | None = None):
    """The extractors a model's `feature_extractors` record, modality ->
    extractor, to extract a new clip exactly as its training data was.

    Raises:
        ValueError: a recorded extractor that this keras_umdf does not have,
            or has in another version or width.
    """
    for spec in specs:
        have = class_spec(spec["modality"])
        recorded = {key: spec[key] for key in ("name", "version", "width")}
        if have is None or {k: have[k] for k in recorded} != recorded:
            raise ValueError(
                f"The model's {spec['modality']} features came from {spec['name']} "
                f"v{spec['version']} ({spec['width']} wide), but this keras_umdf "
                + (
                    f"extracts {have['name']} v{have['version']} ({have['width']} wide)"
                    if have
                    else "has no such extractor"
                )
                + "; use the keras_umdf version the model was trained with, or "
                "retrain on features from this one."
            )
    modalities = {spec["modality"] for spec in specs}
    settings = ExtractorSettings(
        **{m: m in modalities for m in MODALITY_ORDER},
        text_encoder=text_encoder,
        fps=fps,
    )
    return settings.build()


def extract_manifest(
    entries: list[Entry],
    folder: str,
    settings: ExtractorSettings,
    length: int = 50,
    workers: int = 1,
    progress=sys.stderr,
    extractors: dict[str, Extractor] | None = None,
) -> dict:
    """Extracts every clip of `entries` into `folder`.

    Args:
        entries: the manifest's rows (`keras_umdf.features.read_manifest`).
        folder: the output folder: new, empty, or one this function wrote
            with the same extractors and `length` (then the clips it holds
            are skipped).
        settings: the extractors to run.
        length: rows per modality, T.
        workers: worker processes (1: extract in this process).
        progress: a text stream for the progress line, or None.
        extractors: already built extractors to use instead of
            `settings.build()` (in this process only; `workers` must be 1).

    Returns:
        dict with "extracted", "skipped" (already done) and "failed" counts
        and "errors" (a list of {"id", "media", "error"}).
    """
    if length < 1:
        raise ValueError(f"length must be a positive integer; received {length}.")
    if workers < 1:
        raise ValueError(f"workers must be a positive integer; received {workers}.")
    if extractors is not None and workers != 1:
        raise ValueError("Built extractors run in this process only: use workers=1.")
    specs = [e.spec() for e in extractors.values()] if extractors else None
    specs = specs or _specs(settings)
    store.start_folder(
        folder,
        {
            "extractors": sorted(
                specs, key=lambda s: MODALITY_ORDER.index(s["modality"])
            ),
            "length": int(length),
            "alignment": "word intervals where a clip has word timings, else "
            "equal stretches of the clip",
        },
    )
    done = store.done_ids(folder)
    todo = [entry for entry in entries if entry.clip.id not in done]
    report = {"extracted": 0, "skipped": len(entries) - len(todo), "failed": 0}
    errors = []
    start = time.perf_counter()
    if workers == 1 or len(todo) <= 1:
        built = extractors or settings.build()
        results = (_extract_one(entry, built, length) for entry in todo)
        _consume(results, todo, folder, report, errors, progress, start)
    else:
        context = multiprocessing.get_context("spawn")
        with context.Pool(
            min(workers, len(todo)), initializer=_start_worker, initargs=(settings,)
        ) as pool:
            results = pool.imap(_worker_extract, [(e, length) for e in todo])
            _consume(results, todo, folder, report, errors, progress, start)
    store.write_errors(folder, errors)
    report["errors"] = errors
    report["seconds"] = time.perf_counter() - start
    return report


def class_spec(modality: str) -> dict | None:
    """The spec of `modality`'s extractor read from its class, without loading
    any model; None where keras_umdf has no extractor for it."""
    cls = extractor_class(modality)
    if cls is None:
        return None
    return {
        "modality": modality,
        "name": cls.name,
        "version": str(cls.version),
        "width": int(cls.width),
    }


def _specs(settings: ExtractorSettings) -> list[dict]:
    """The specs of the extractors `settings` chooses."""
    return [class_spec(m) for m in MODALITY_ORDER if getattr(settings, m)]


def _consume(results, todo, folder, report, errors, progress, start) -> None:
    for count, (entry, result) in enumerate(zip(todo, results, strict=True), start=1):
        if isinstance(result, str):
            report["failed"] += 1
            errors.append(
                {"id": entry.clip.id, "media": entry.clip.media, "error": result}
            )
        else:
            arrays, found = result
            store.write_clip(
                folder, entry.clip.id, arrays, found, entry.label, entry.split
            )
            report["extracted"] += 1
        if progress is not None:
            _show_progress(progress, count, len(todo), report, start)
    if progress is not None and todo and _is_terminal(progress):
        progress.write("\n")


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _show_progress(stream, count: int, total: int, report: dict, start: float):
    """One line rewritten in place on a terminal; in a log file, a line at
    every tenth of the clips (and the last)."""
    percent = 100 * count // total
    line = (
        f"[{count}/{total}] {percent}% {time.perf_counter() - start:.0f} s, "
        f"{report['failed']} failed"
    )
    if _is_terminal(stream):
        stream.write(f"\r{line}")
    elif count == total or percent // 10 > 100 * (count - 1) // total // 10:
        stream.write(f"{line}\n")
    stream.flush()


def _extract_one(entry: Entry, extractors: dict, length: int):
    """The clip's arrays and found flags, or the error's message."""
    try:
        return clip_arrays(entry.clip, extractors, length)
    except Exception as error:  # noqa: BLE001 - reported per clip, run goes on
        return f"{type(error).__name__}: {error}"


_WORKER_EXTRACTORS = None
_WORKER_ERROR = None


def _start_worker(settings: ExtractorSettings) -> None:
    # An error here would make the pool start new workers without end: keep
    # it, and report it for every clip instead.
    global _WORKER_EXTRACTORS, _WORKER_ERROR
    try:
        _WORKER_EXTRACTORS = settings.build()
    except Exception as error:  # noqa: BLE001 - reported per clip
        _WORKER_ERROR = f"{type(error).__name__}: {error}"


def _worker_extract(job):
    entry, length = job
    if _WORKER_ERROR is not None:
        return f"the worker could not load its extractors: {_WORKER_ERROR}"
    return _extract_one(entry, _WORKER_EXTRACTORS, length)
