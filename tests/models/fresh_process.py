"""Loads a saved model in a fresh Python process and predicts there.

The save-and-load tests of UMDF and SDUMC use it: nothing of the saving process
(custom objects already registered, built layers, traced functions) can help
the loading one.
"""

import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = """
import sys, numpy as np, keras, keras_umdf
model = keras.saving.load_model(sys.argv[1])
data = np.load(sys.argv[2])
view = {k: data[k] for k in data.files}
np.save(sys.argv[3], keras.ops.convert_to_numpy(model.predict(view, verbose=0)))
print("attributes", *(getattr(model, name) for name in sys.argv[4:]))
"""


def predict_in_fresh_process(model, inputs, tmp_path, env, attributes=()):
    """Saves `model`, loads it in a child Python, predicts `inputs` there.

    Returns (the child's predictions, the values of `attributes` of the loaded
    model as the child printed them, space-separated).
    """
    path, data, out = (
        tmp_path / "model.keras",
        tmp_path / "inputs.npz",
        tmp_path / "out.npy",
    )
    model.save(path)
    np.savez(data, **inputs)
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(path), str(data), str(out), *attributes],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [
        line for line in result.stdout.splitlines() if line.startswith("attributes")
    ]
    assert lines, result.stdout[-2000:]
    return np.load(out), lines[-1].removeprefix("attributes").strip()
