"""What a command says on stderr while it reads a large dataset file.

A MOSEI pickle is several gigabytes and takes minutes to read; without a word
the command looks hung. A read that takes longer than `delay` seconds is
announced (the file and its size), then every `interval` seconds the command
says how long it has been reading, and at the end how long it took and how
many clips each split holds. A quick read prints nothing, so a small file's
error stays the one line the commands promise. stderr, so that
`keras-umdf predict` can write its predictions to stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time


def describe_size(num_bytes: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if num_bytes >= size:
            return f"{num_bytes / size:.1f} {unit}"
    return f"{num_bytes} bytes"


@contextlib.contextmanager
def reporting_load(path: str, *, delay: float = 2.0, interval: float = 10.0,
                   stream=None):  # fmt: skip
    """Reports the reading of the dataset file (or folder) `path` when it
    takes longer than `delay` seconds.

    Yields a callable that takes the loaded `MultimodalDataset`: it ends the
    report with the clips of each split (when the read was announced).
    """
    stream = sys.stderr if stream is None else stream
    start = time.monotonic()
    done = threading.Event()
    lock = threading.Lock()
    announced = []

    def say(message: str) -> None:
        print(f"{path}: {message}", file=stream, flush=True)

    def heartbeat() -> None:
        if done.wait(delay):
            return
        size = os.path.getsize(path) if os.path.isfile(path) else None
        with lock:
            if done.is_set():
                return
            announced.append(True)
            say("reading the dataset" + (f" ({describe_size(size)})" if size else ""))
        while not done.wait(interval):
            with lock:
                if not done.is_set():
                    say(f"still reading ({time.monotonic() - start:.0f} s)")

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()

    def report(data) -> None:
        with lock:
            done.set()
            if announced:
                clips = ", ".join(
                    f"{name} {split.num_samples}" for name, split in data.splits.items()
                )
                say(f"read in {time.monotonic() - start:.1f} s; clips: {clips}")

    try:
        yield report
    finally:
        done.set()
        thread.join()
