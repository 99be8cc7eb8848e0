"""Runs a script in a child Python where TensorFlow cannot be imported.

A module set to None in `sys.modules` cannot be imported, and importlib's
`find_spec` reports it missing, exactly as on a machine without the package
(GPU images often ship JAX or PyTorch alone). After the script, the child checks
that no TensorFlow module was loaded.
"""

import subprocess
import sys

import keras
import pytest

_BLOCK = """
import sys
for name in ("tensorflow", "tensorflow_datasets"):
    sys.modules[name] = None
"""

_CHECK = """
loaded = [m for m, v in sys.modules.items() if m.startswith("tensorflow") and v]
assert not loaded, loaded
"""

skip_on_tensorflow = pytest.mark.skipif(
    keras.backend.backend() == "tensorflow", reason="the TF backend needs TF"
)


def run_without_tensorflow(script: str, env: dict, *args: str):
    """Runs `script` (with `args` as sys.argv[1:]); returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", _BLOCK + script + _CHECK, *args],
        capture_output=True,
        text=True,
        env=env,
    )
