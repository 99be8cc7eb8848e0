"""Build the TFDS dataset `cmu_mosi` from a MulT pickle in `manual_dir`, then load it.

With your real file, put `mosi_data.pkl` (or `mosi_data_noalign.pkl` for the
"cmu_mosi/unaligned" config) in a folder and run:

    python examples/load_tfds.py /path/to/that/folder

Without an argument it writes a small fake `mosi_data.pkl` to a temporary folder first.
`import keras_umdf.data.tfds` registers the builders cmu_mosi, cmu_mosei and iemocap;
after that, plain `tfds.load("cmu_mosi", ...)` works too. Needs TensorFlow.
"""

import os
import pickle
import sys
import tempfile

import numpy as np
import tensorflow_datasets as tfds

import keras_umdf.data.tfds  # noqa: F401  (registers the builders)
from keras_umdf.data import load_dataset


def write_fake_mult_pickle(folder):
    rng = np.random.default_rng(0)
    data = {
        split: {
            "text": rng.normal(size=(clips, 50, 300)).astype("float32"),
            "audio": rng.normal(size=(clips, 50, 5)).astype("float32"),
            "vision": rng.normal(size=(clips, 50, 20)).astype("float32"),
            "labels": rng.uniform(-3, 3, size=(clips, 1, 1)).astype("float32"),
            "id": np.array([[b"video%d" % i, b"0.0", b"4.2"] for i in range(clips)]),
        }
        for split, clips in (("train", 8), ("valid", 3), ("test", 4))
    }
    with open(os.path.join(folder, "mosi_data.pkl"), "wb") as file:
        pickle.dump(data, file, protocol=2)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        manual_dir = sys.argv[1] if len(sys.argv) > 1 else folder
        if len(sys.argv) == 1:
            write_fake_mult_pickle(folder)
        data_dir = os.path.join(folder, "tensorflow_datasets")  # yours: keep it
        splits = tfds.load(
            "cmu_mosi",
            data_dir=data_dir,
            download_and_prepare_kwargs={
                "download_config": tfds.download.DownloadConfig(manual_dir=manual_dir)
            },
        )
        print({name: int(ds.cardinality()) for name, ds in splits.items()})
        # The same, as keras_umdf's canonical MultimodalDataset:
        data = load_dataset("cmu_mosi", format="tfds", data_dir=data_dir)
        print(f"{data.name}: {data.modality_dims}, splits {list(data.splits)}")
