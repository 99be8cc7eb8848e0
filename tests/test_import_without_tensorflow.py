"""`import keras_umdf` must work where TensorFlow is not installed (JAX/torch GPUs)."""

import subprocess
import sys

import keras
import pytest

# A module set to None in sys.modules cannot be imported, and importlib's
# find_spec reports it missing, exactly as on a machine without the package.
BLOCK_TENSORFLOW = """
import sys
for name in ("tensorflow", "tensorflow_datasets"):
    sys.modules[name] = None
"""

SCRIPT = (
    BLOCK_TENSORFLOW
    + """
import numpy as np
import keras_umdf
from keras_umdf.data import MultimodalDataset, Split, synthetic, MaskedPyDataset
model = keras_umdf.UMDF({"text": 6, "audio": 5, "vision": 4}, hidden_dim=8,
                        num_heads=2, num_layers=1)
view = {m: np.zeros((2, 5, d), "float32") for m, d in model.modality_dims.items()}
print(model.predict(view, verbose=0).shape)
loaded = [m for m, v in sys.modules.items() if m.startswith("tensorflow") and v]
assert not loaded, loaded
"""
)


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow", reason="the TF backend needs TF"
)
def test_import_and_predict_without_tensorflow(subprocess_env):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=subprocess_env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "(2, 1)"
