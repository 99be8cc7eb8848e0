"""Pins the thread count of every numerical library of a benchmark process.

Must run before NumPy, TensorFlow, JAX or torch is imported: the thread pools
read their sizes at import.
"""

from __future__ import annotations

import os

_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that give NumPy, TensorFlow and torch `threads`
    threads (and `THREADS`, which a `--peer-path` script may read). JAX's CPU client sizes its own
    pool to the machine's cores."""
    env = {name: str(threads) for name in _ENV}
    env["THREADS"] = str(threads)
    return env


def pin_tensorflow_threads(threads: int) -> None:
    """Gives TensorFlow `threads` threads, unless it is already imported (its
    thread pools read `thread_env`'s variables at import); a value already in
    the environment is kept."""
    import sys

    if "tensorflow" in sys.modules:
        return
    for name, value in thread_env(threads).items():
        os.environ.setdefault(name, value)


def pin_torch_threads() -> None:
    """Applies `OMP_NUM_THREADS` to an imported torch (its default ignores it on
    some builds)."""
    import torch

    threads = int(os.environ.get("OMP_NUM_THREADS", "0"))
    if threads:
        torch.set_num_threads(threads)
