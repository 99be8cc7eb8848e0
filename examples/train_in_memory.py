"""Train UMDF on your own in-memory arrays, then test it with modalities missing.

Runs as it is (on random arrays shaped like aligned CMU-MOSI features); replace the
arrays below with yours: one float array (clips, frames, features) per modality and
one sentiment score in [-3, 3] per clip.

    python examples/train_in_memory.py
"""

# keras_umdf before keras: TensorFlow then loads with oneDNN's CPU kernels
# (keras_umdf.onednn; README, Performance).
import keras_umdf  # noqa: I001

import keras
import numpy as np

from keras_umdf.data import MultimodalDataset
from keras_umdf.data import Split
from keras_umdf.data import make_dataset
from keras_umdf.evaluation import regression_metrics

rng = np.random.default_rng(0)


def fake_split(clips):
    """Random stand-ins for your features: GloVe 300, COVAREP 74, Facet 35."""
    sentiment = rng.uniform(-3, 3, clips).astype("float32")
    features = {
        name: rng.normal(size=(clips, 50, dim)).astype("float32")
        + 0.3 * sentiment[:, None, None]
        for name, dim in (("text", 300), ("audio", 74), ("vision", 35))
    }
    ids = np.array([f"clip{i}" for i in range(clips)])
    return Split(features=features, labels=sentiment, ids=ids)


data = MultimodalDataset(
    splits={"train": fake_split(256), "valid": fake_split(64), "test": fake_split(64)},
    task="regression",
    name="my-data",
)

keras.utils.set_random_seed(0)
# Two heterogeneous incomplete views per clip, redrawn every epoch.
train = make_dataset(data["train"], training=True, batch_size=32, seed=0)
valid = make_dataset(data["valid"], training=False, batch_size=64)

model = keras_umdf.UMDF(data.modality_dims, hidden_dim=40, num_heads=10, num_layers=2)
model.compile()  # Adam at 1e-3, warmed up over 100 updates
model.fit(train, validation_data=valid, epochs=3, verbose=2)

# Test with only language and audio present (vision missing).
test_la = make_dataset(data["test"], training=False, batch_size=64, condition="la")
predictions = model.predict(test_la, verbose=0)
metrics = regression_metrics(predictions, data["test"].labels)
print(f"test {{l,a}}: MAE {metrics['mae']:.3f}, F1 {100 * metrics['non0_f1']:.1f}")
