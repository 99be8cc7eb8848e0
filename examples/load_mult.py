"""Load a MulT pickle (`mosi_data.pkl`, `mosei_senti_data_noalign.pkl`, `iemocap_data.pkl`...).

With your real file (MulT's "Data Download", github.com/yaohungt/Multimodal-Transformer):

    python examples/load_mult.py /path/to/mosi_data.pkl

Without an argument it first writes a small fake `mosi_data.pkl` (MulT's layout: split ->
text/audio/vision/labels/id) to a temporary folder, so it runs anywhere. The file is read
with a restricted unpickler: a pickle that would run code is refused.
"""

import os
import pickle
import sys
import tempfile

import numpy as np

from keras_umdf.data import load_mult_pickle


def write_fake_mult_pickle(folder):
    """A MOSI-shaped MulT pickle: 50 aligned frames of GloVe 300 / COVAREP 5 / Facet 20."""
    rng = np.random.default_rng(0)
    data = {}
    for split, clips in (("train", 8), ("valid", 3), ("test", 4)):
        data[split] = {
            "text": rng.normal(size=(clips, 50, 300)).astype("float32"),
            "audio": rng.normal(size=(clips, 50, 5)).astype("float32"),
            "vision": rng.normal(size=(clips, 50, 20)).astype("float32"),
            "labels": rng.uniform(-3, 3, size=(clips, 1, 1)).astype("float32"),
            # MulT's ids: (video id, start, end) as bytes.
            "id": np.array([[b"video%d" % i, b"0.0", b"4.2"] for i in range(clips)]),
        }
    path = os.path.join(folder, "mosi_data.pkl")
    with open(path, "wb") as file:
        pickle.dump(data, file, protocol=2)
    return path


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        path = sys.argv[1] if len(sys.argv) > 1 else write_fake_mult_pickle(folder)
        # dataset= is inferred from the file name ("mosi", "mosei", "iemocap").
        data = load_mult_pickle(path)
        print(
            f"{data.name}: task {data.task}, widths {data.modality_dims}, "
            f"lengths {data.sequence_lengths}"
        )
        for name, split in data.splits.items():
            print(
                f"  {name}: {split.num_samples} clips, first id {str(split.ids[0])!r}, "
                f"labels {[round(float(y), 2) for y in split.labels[:3]]}"
            )
