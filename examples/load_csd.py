"""Load CMU-MultimodalSDK computational sequences (`.csd`) cut into labelled segments.

With your real files (CMU-MOSI shown; MOSEI alike with folds="mosei" and its
CMU_MOSEI_All_Labels.csd):

    python examples/load_csd.py CMU_MOSI_TimestampedWordVectors.csd \\
        CMU_MOSI_COVAREP.csd CMU_MOSI_Visual_Facet_41.csd CMU_MOSI_Opinion_Labels.csd

Without arguments it first writes four small fake .csd files (HDF5: <root>/data/<video>/
{features, intervals}, <root>/metadata/<key>) to a temporary folder, so it runs anywhere.
Every feature row whose interval midpoint lies in a labelled segment goes to that segment;
each segment is padded with zeros in front (or truncated) to 50 rows.
"""

import json
import os
import sys
import tempfile

import h5py
import numpy as np

from keras_umdf.data import load_csd
from keras_umdf.data.csd import standard_folds


def write_csd(path, root, videos):
    with h5py.File(path, "w") as file:
        group = file.create_group(root)
        for video, (features, intervals) in videos.items():
            group.create_dataset(f"data/{video}/features", data=features)
            group.create_dataset(f"data/{video}/intervals", data=intervals)
        meta = group.create_dataset(
            "metadata/root name", (1,), dtype=h5py.string_dtype()
        )
        meta[0] = json.dumps(root)
    return path


def write_fake_csd_files(folder):
    """Three videos of the standard MOSI folds, 10 s each, two labelled segments."""
    rng = np.random.default_rng(0)
    folds = standard_folds("mosi")
    videos = [folds["train"][0], folds["valid"][0], folds["test"][0]]
    paths = {}
    for modality, dim, rate in (
        ("text", 300, 3),
        ("audio", 74, 100),
        ("vision", 35, 30),
    ):
        starts = np.arange(0, 10, 1 / rate)  # rows per second
        intervals = np.stack([starts, starts + 1 / rate], axis=1)
        paths[modality] = write_csd(
            os.path.join(folder, f"{modality}.csd"),
            modality,
            {v: (rng.normal(size=(len(starts), dim)), intervals) for v in videos},
        )
    segments = np.array([[0.5, 4.0], [4.0, 9.5]])
    labels = {v: (rng.uniform(-3, 3, size=(2, 1)), segments) for v in videos}
    paths["labels"] = write_csd(os.path.join(folder, "labels.csd"), "labels", labels)
    return paths


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        if len(sys.argv) == 5:
            paths = dict(
                zip(("text", "audio", "vision", "labels"), sys.argv[1:], strict=True)
            )
        else:
            paths = write_fake_csd_files(folder)
        labels = paths.pop("labels")
        data = load_csd(
            paths,
            labels,
            sequence_length=50,
            folds="mosi",  # the SDK's standard folds; or {"train": [video ids], ...}
            neg_inf_to_zero=True,  # COVAREP has -inf and NaN values
            nan_to_zero=True,
        )
        print(f"{data.name}: widths {data.modality_dims}")
        for name, split in data.splits.items():
            print(f"  {name}: {split.num_samples} segments, ids {split.ids.tolist()}")
