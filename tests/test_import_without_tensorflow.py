"""`import keras_umdf` must work where TensorFlow is not installed (JAX/torch GPUs)."""

from tests.without_tensorflow import run_without_tensorflow
from tests.without_tensorflow import skip_on_tensorflow

SCRIPT = """
import numpy as np
import keras_umdf
from keras_umdf.data import MultimodalDataset, Split, synthetic, MaskedPyDataset
model = keras_umdf.UMDF({"text": 6, "audio": 5, "vision": 4}, hidden_dim=8,
                        num_heads=2, num_layers=1)
view = {m: np.zeros((2, 5, d), "float32") for m, d in model.modality_dims.items()}
print(model.predict(view, verbose=0).shape)
"""


@skip_on_tensorflow
def test_import_and_predict_without_tensorflow(subprocess_env):
    result = run_without_tensorflow(SCRIPT, subprocess_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "(2, 1)"
