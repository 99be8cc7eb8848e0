"""Load an MMSA pickle (`aligned_50.pkl` or `unaligned_50.pkl`, github.com/thuiar/MMSA).

With your real file:

    python examples/load_mmsa.py /path/to/MOSI/Processed/unaligned_50.pkl

Without an argument it first writes a small fake `unaligned_50.pkl` (MMSA's keys, ids
"video$_$clip", -inf in audio, *_lengths) to a temporary folder, so it runs anywhere.
As in MMSA, -inf audio values become 0; "text_bert" (token ids) is not used as features.
"""

import os
import pickle
import sys
import tempfile

import numpy as np

from keras_umdf.data import load_mmsa_pickle


def write_fake_mmsa_pickle(folder):
    """A MOSI-shaped unaligned MMSA pickle: BERT 768 text, 5-d audio, 20-d vision."""
    rng = np.random.default_rng(0)
    data = {}
    for split, clips in (("train", 8), ("valid", 3), ("test", 4)):
        audio = rng.normal(size=(clips, 375, 5)).astype("float32")
        audio[0, 0, 0] = -np.inf
        scores = rng.uniform(-3, 3, clips).astype("float32")
        data[split] = {
            "raw_text": [f"clip {i} words" for i in range(clips)],
            "id": [f"video{i // 2}$_${i % 2 + 1}" for i in range(clips)],
            "text": rng.normal(size=(clips, 50, 768)).astype("float32"),
            "text_bert": rng.integers(0, 30000, size=(clips, 3, 50)),
            "audio": audio,
            "vision": rng.normal(size=(clips, 500, 20)).astype("float32"),
            "audio_lengths": rng.integers(100, 376, clips).tolist(),
            "vision_lengths": rng.integers(100, 501, clips).tolist(),
            "annotations": ["Negative" if s < 0 else "Positive" for s in scores],
            "classification_labels": np.where(scores < 0, 0, 2),
            "regression_labels": scores,
        }
    path = os.path.join(folder, "unaligned_50.pkl")
    with open(path, "wb") as file:
        pickle.dump(data, file, protocol=4)
    return path


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        path = sys.argv[1] if len(sys.argv) > 1 else write_fake_mmsa_pickle(folder)
        data = load_mmsa_pickle(path)  # label="classification" for the 3 classes
        print(
            f"{data.name}: widths {data.modality_dims}, lengths {data.sequence_lengths}"
        )
        train = data["train"]
        print(f"  train: {train.num_samples} clips, ids {train.ids[:2].tolist()}")
        if train.lengths:
            print(
                f"  valid audio frames of the first clips: {train.lengths['audio'][:3].tolist()}"
            )
