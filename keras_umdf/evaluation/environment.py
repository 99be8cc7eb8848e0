"""The versions a result was computed with, recorded beside it."""

from __future__ import annotations

import platform
import sys

import numpy as np


def environment_info() -> dict[str, str]:
    """Versions of keras_umdf, Keras, the backend in use, NumPy and Python."""
    import keras

    import keras_umdf

    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    backend_version = "unknown"
    if module and module in sys.modules:
        backend_version = getattr(sys.modules[module], "__version__", "unknown")
    return {
        "keras_umdf": keras_umdf.__version__,
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": backend_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
