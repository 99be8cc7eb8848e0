"""Where the PyTorch backend's training step spends its time, on a GPU or the CPU.

    KERAS_BACKEND=torch python -m benchmarks.profile_torch_step --batch-size 128
    python -m benchmarks.profile_torch_step --precisions float32,mixed_bfloat16

Builds UMDF at the benchmark's configuration (`measure_umdf.py`: the paper's
MOSI architecture, synthetic data of the real shapes, Adam), runs `--warmup`
training steps, then records `--steps` more with `torch.profiler`. Prints per
step, for each dtype policy: the wall time; on a GPU the time its kernels ran
and their number, so the share of the wall time the GPU was busy (a low share
means the host, launching kernels one by one, is the limit, not the GPU); and
the operators with the most device time (on a CPU, the most host time).

`benchmarks/profile_step.py` is the TensorFlow counterpart (by op type).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from benchmarks.measure_umdf import add_model_arguments
from benchmarks.measure_umdf import architecture
from benchmarks.measure_umdf import build_model
from benchmarks.measure_umdf import check_model_arguments
from benchmarks.measure_umdf import synthetic_data


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--precisions",
        default="float32,mixed_bfloat16",
        help="comma-separated dtype policies, profiled one after the other",
    )
    parser.add_argument("--steps", type=int, default=5, help="profiled steps")
    parser.add_argument("--warmup", type=int, default=3, help="steps before")
    parser.add_argument("--rows", type=int, default=12, help="operators listed")
    add_model_arguments(parser, "torch's intra-op threads (default: all cores)")
    args = parser.parse_args(argv)
    if min(args.batch_size, args.steps, args.warmup, args.rows, args.threads) < 1:
        parser.error(
            "--batch-size, --steps, --warmup, --rows and --threads must be positive; "
            f"received {args.batch_size}, {args.steps}, {args.warmup}, {args.rows}, "
            f"{args.threads}"
        )
    check_model_arguments(parser, args)
    return args


def profile_precision(args, precision: str) -> dict:
    """Profiles `args.steps` training steps under `precision`; returns figures."""
    import keras
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile

    cuda = torch.cuda.is_available()

    def synchronize():
        if cuda:
            torch.cuda.synchronize()

    keras.config.set_dtype_policy(precision)
    try:
        keras.utils.set_random_seed(0)
        config = {
            **architecture(args),
            "precision": precision,
            "batch_size": args.batch_size,
            "dropout": args.dropout,
        }
        x, y, _ = synthetic_data(config)
        model = build_model(config)
        for _ in range(args.warmup):
            model.train_on_batch(x, y)
        synchronize()
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as trace:
            start = time.perf_counter()
            for _ in range(args.steps):
                model.train_on_batch(x, y)
            synchronize()
            wall_s = (time.perf_counter() - start) / args.steps
    finally:
        keras.config.set_dtype_policy("float32")
    kernels = [
        event
        for event in trace.events()
        if event.device_type == torch.autograd.DeviceType.CUDA
    ]
    kernel_s = sum(event.device_time for event in kernels) / 1e6 / args.steps
    sort_by = "device_time_total" if cuda else "self_cpu_time_total"
    return {
        "precision": precision,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "wall_ms": 1e3 * wall_s,
        "kernel_ms": 1e3 * kernel_s if cuda else None,
        "kernels_per_step": len(kernels) / args.steps if cuda else None,
        "table": trace.key_averages().table(
            sort_by=sort_by, row_limit=args.rows, max_name_column_width=60
        ),
    }


def headline(figures: dict, batch_size: int) -> str:
    line = (
        f"{figures['precision']}, batch {batch_size}, {figures['device']}: "
        f"{figures['wall_ms']:.1f} ms per training step"
    )
    if figures["kernel_ms"] is None:
        return line + " (no GPU: host operators only)"
    busy = 100 * figures["kernel_ms"] / figures["wall_ms"]
    return (
        f"{line}; GPU kernels {figures['kernel_ms']:.1f} ms ({busy:.0f}% of the "
        f"wall time), {figures['kernels_per_step']:.0f} kernels per step"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise SystemExit(
            f"profile_torch_step.py profiles the PyTorch backend; KERAS_BACKEND is "
            f"{keras.backend.backend()!r}. Run it with KERAS_BACKEND=torch "
            "(benchmarks/profile_step.py profiles TensorFlow)."
        )
    import torch

    torch.set_num_threads(args.threads)
    for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
        figures = profile_precision(args, precision)
        print("== " + headline(figures, args.batch_size), flush=True)
        print(figures["table"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
