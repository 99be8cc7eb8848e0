"""Peak memory of training UMDF on MOSEI-scale data streamed from disk.

    python -m benchmarks.streaming_memory [--steps 300] [--workdir /tmp]

Writes 22,856 synthetic clips of 50 x (300 + 74 + 35) float32 features (MOSEI's
size: 1.87 GB as arrays) as TFRecord shards with `keras_umdf.data.write_shards`,
a chunk of clips at a time, into a temporary folder under `--workdir`; then, in
fresh processes so that each peak RSS is its own:

1. streams one whole epoch through `make_dataset_from_shards(training=True)` (the
   two-view masking, no model) and records the peak RSS;
2. trains UMDF (the paper's MOSEI configuration, batch 16) on that stream with
   `model.fit` for `--steps` steps and records the peak RSS, and the RSS after
   the first and the last steps, and after steps 1, 10, 30, 100, 200, ...

The shards are deleted at the end (unless `--keep`). Prints one `RESULT {json}`
line and a summary. Needs TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks.measure_umdf import peak_rss_mb
from benchmarks.measure_umdf import rss_mb

NUM_CLIPS = 22856
LENGTH = 50
DIMS = {"text": 300, "audio": 74, "vision": 35}


def write(directory: str, num_clips: int, chunk: int = 1024) -> dict:
    """Writes `num_clips` random clips as shards, `chunk` clips in memory at once."""
    import numpy as np

    from keras_umdf.data import write_shards
    from keras_umdf.data.multimodal_dataset import Split

    def splits():
        rng = np.random.default_rng(0)
        for start in range(0, num_clips, chunk):
            n = min(chunk, num_clips - start)
            yield Split(
                features={
                    m: rng.standard_normal((n, LENGTH, d), dtype=np.float32)
                    for m, d in DIMS.items()
                },
                labels=rng.uniform(-3, 3, n).astype(np.float32),
                ids=np.array([f"clip{start + i}" for i in range(n)]),
            )

    start = time.perf_counter()
    write_shards(splits(), directory, samples_per_shard=chunk)
    size = sum(
        os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory)
    )
    return {
        "write_s": time.perf_counter() - start,
        "shard_bytes": size,
        "write_peak_rss_mb": peak_rss_mb(),
    }


def stream_epoch(directory: str, batch_size: int) -> dict:
    """One epoch of the streamed two-view pipeline, no model."""
    from keras_umdf.data import make_dataset_from_shards

    dataset = make_dataset_from_shards(
        directory, training=True, batch_size=batch_size, seed=0
    )
    start, batches = time.perf_counter(), 0
    for _ in dataset:
        batches += 1
    return {
        "epoch_batches": batches,
        "epoch_s": time.perf_counter() - start,
        "stream_peak_rss_mb": peak_rss_mb(),
    }


def train(directory: str, batch_size: int, steps: int) -> dict:
    """`model.fit` on the stream for `steps` steps (UMDF, paper's MOSEI setup)."""
    # keras_umdf before keras: TensorFlow loads with the package's default
    # oneDNN setting (keras_umdf.onednn), as a user's `import keras_umdf` gives.
    import keras_umdf  # noqa: I001

    import keras
    from keras_umdf.data import make_dataset_from_shards

    dataset = make_dataset_from_shards(
        directory, training=True, batch_size=batch_size, seed=0
    )
    model = keras_umdf.UMDF(DIMS, num_heads=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    rss = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            rss.append(rss_mb())

    start = time.perf_counter()
    model.fit(
        dataset.repeat(),
        steps_per_epoch=steps,
        epochs=1,
        verbose=0,
        callbacks=[Record()],
    )
    return {
        "train_steps": steps,
        "train_s": time.perf_counter() - start,
        "train_rss_after_first_step_mb": rss[0],
        "train_rss_after_last_step_mb": rss[-1],
        "train_rss_max_sampled_mb": max(rss),
        # The RSS after steps 1, 10, 30, 100, 200, ..., so a trend shows.
        "train_rss_by_step_mb": {
            str(step): rss[step - 1]
            for step in sorted({1, 10, 30, *range(100, steps + 1, 100), steps})
            if step <= len(rss)
        },
        "train_peak_rss_mb": peak_rss_mb(),
        "onednn": keras_umdf.onednn.onednn_enabled(),
    }


def _child(args, phase: str) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.streaming_memory",
        "--phase",
        phase,
        "--directory",
        args.directory,
        "--steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--num-clips",
        str(args.num_clips),
    ]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # From the repository root, where `benchmarks` is a package.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{phase} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--batch-size", type=int, default=16, help="MOSEI's: 16")
    parser.add_argument("--num-clips", type=int, default=NUM_CLIPS)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--keep", action="store_true", help="keep the shards")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        phases = {
            "write": lambda: write(args.directory, args.num_clips),
            "stream": lambda: stream_epoch(args.directory, args.batch_size),
            "train": lambda: train(args.directory, args.batch_size, args.steps),
        }
        print("RESULT " + json.dumps(phases[args.phase]()), flush=True)
        return
    # A --workdir that does not exist yet is created (the shards' own folder in
    # it is removed afterwards).
    os.makedirs(args.workdir, exist_ok=True)
    args.directory = tempfile.mkdtemp(prefix="umdf-mosei-shards-", dir=args.workdir)
    try:
        result = {
            "num_clips": args.num_clips,
            "in_memory_mb": args.num_clips * LENGTH * sum(DIMS.values()) * 4 / 2**20,
            "batch_size": args.batch_size,
        }
        for phase in ("write", "stream", "train"):
            result.update(_child(args, phase))
            print(f"{phase}: {json.dumps(result)}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.directory, ignore_errors=True)
    print("RESULT " + json.dumps(result))
    print(
        f"{args.num_clips} clips ({result['in_memory_mb']:.0f} MB as arrays, "
        f"{result['shard_bytes'] / 2**20:.0f} MB of shards): streaming one epoch "
        f"peaks at {result['stream_peak_rss_mb']:.0f} MB RSS; training UMDF for "
        f"{args.steps} steps of batch {args.batch_size} peaks at "
        f"{result['train_peak_rss_mb']:.0f} MB (after the first step "
        f"{result['train_rss_after_first_step_mb']:.0f} MB, after the last "
        f"{result['train_rss_after_last_step_mb']:.0f} MB). RSS by step (MB): "
        + ", ".join(
            f"{step}: {mb:.0f}" for step, mb in result["train_rss_by_step_mb"].items()
        )
        + "."
    )


if __name__ == "__main__":
    main()
