"""The training history on disk, one row per epoch, kept right across resumes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time

import keras

from keras_umdf.data.atomic_file import write_text_atomically


def read_history(path: str) -> list[dict]:
    """The rows of a `history.json` (one dict per finished epoch), or []."""
    if not os.path.exists(path):
        return []
    with open(path) as file:
        return json.load(file)


class HistoryFile(keras.callbacks.Callback):
    """Writes `history.json` and `history.csv` after every epoch.

    Each row holds "epoch" (1-based), every value of the epoch's logs (losses,
    metrics, validation metrics), "attempt" (1 for the first process, 2 after
    one resume, ...) and "seconds" (the epoch's wall time). A resumed run first
    drops rows of epochs it is about to redo (an epoch whose row was written but
    whose state was not), so every epoch appears once.

    Args:
        path: the JSON file; the CSV goes beside it with the suffix ".csv".
        initial_epoch: the 0-based epoch the run starts (or resumes) at.
    """

    def __init__(self, path: str, initial_epoch: int = 0):
        super().__init__()
        self.path = path
        self.csv_path = os.path.splitext(path)[0] + ".csv"
        self.initial_epoch = initial_epoch
        self._rows = []
        self._attempt = 1
        self._start = 0.0

    def on_train_begin(self, logs=None):
        rows = read_history(self.path)
        previous = [r for r in rows if r["epoch"] <= self.initial_epoch]
        self._attempt = 1 + max((r.get("attempt", 1) for r in rows), default=0)
        self._rows = previous

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1}
        for key, value in (logs or {}).items():
            value = float(keras.ops.convert_to_numpy(value))
            row[key] = value if math.isfinite(value) else None
        row["attempt"] = self._attempt
        row["seconds"] = round(time.perf_counter() - self._start, 3)
        self._rows = [r for r in self._rows if r["epoch"] != epoch + 1] + [row]
        self._write()

    def _write(self):
        write_text_atomically(self.path, json.dumps(self._rows, indent=1))
        keys = []
        for row in self._rows:
            keys += [k for k in row if k not in keys]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys)
        writer.writeheader()
        writer.writerows(self._rows)
        write_text_atomically(self.csv_path, buffer.getvalue())
