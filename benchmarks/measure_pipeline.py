"""Measures the tf.data pipeline alone: two-view masked batches, no model.

A child of `run.py` (TensorFlow must be installed):

    python -m benchmarks.measure_pipeline '{"batch_size": 128}'

Builds `keras_umdf.data.make_dataset(..., training=True)` over a split of
`num_samples` synthetic clips of the real shapes (MOSI's training split has
1284), then iterates it epoch after epoch, as `fit` does, and reports batches/s
after the first batch (which traces the pipeline). Prints one `RESULT {json}`.
"""

from __future__ import annotations

import json
import resource
import sys
import time

DEFAULTS = {
    "batch_size": 16,
    "num_samples": 1284,
    "modality_dims": {"text": 300, "audio": 74, "vision": 35},
    "length": 50,
    "seconds": 5.0,
    "seed": 0,
}


def measure(config: dict) -> dict:
    config = {**DEFAULTS, **config}
    import numpy as np

    from keras_umdf.data import make_dataset
    from keras_umdf.data.multimodal_dataset import Split

    rng = np.random.default_rng(config["seed"])
    n, length = config["num_samples"], config["length"]
    split = Split(
        features={
            m: rng.standard_normal((n, length, d), dtype=np.float32)
            for m, d in config["modality_dims"].items()
        },
        labels=rng.uniform(-3, 3, n).astype(np.float32),
        ids=np.array([f"clip{i}" for i in range(n)]),
    )
    dataset = make_dataset(
        split, training=True, batch_size=config["batch_size"], seed=config["seed"]
    )
    start = time.perf_counter()
    iterator = iter(dataset)
    next(iterator)
    first = time.perf_counter() - start
    batches, begin = 0, time.perf_counter()
    while time.perf_counter() - begin < config["seconds"] or batches < 3:
        for _ in iterator:
            batches += 1
        iterator = iter(dataset)  # The next epoch, with fresh masks.
    elapsed = time.perf_counter() - begin
    return {
        "first_batch_s": first,
        "batches": batches,
        "pipeline_batches_per_s": batches / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    print("RESULT " + json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
