"""Measures the PyTorch peer (`torch_umdf.py`) in this process (a child of `run.py`).

    python -m benchmarks.peer.measure '{"batch_size": 16, "train_seconds": 5}'

Trains `TorchUMDF` with Adam (1e-3) on one fixed two-view batch of synthetic
data, the same arrays `measure_umdf.py` draws from the same seed, then predicts
on one one-view batch under `torch.no_grad()`. Each phase is timed as
keras_umdf's (`benchmarks.timing.timed`: the first step apart, then at least
`min_steps` steps and `*_seconds` seconds), or for exactly `steps` timed steps
when given. Also times torch's float32 matrix product (`gemm_fp32_gflops`).
Prints one `RESULT {json}` line.
"""

from __future__ import annotations

import json
import math
import sys
import time

from benchmarks.measure_umdf import DEFAULTS
from benchmarks.measure_umdf import peak_rss_mb
from benchmarks.timing import timed

PEER_DEFAULTS = {**DEFAULTS, "dropout": 0.1, "steps": None, "gemm_size": 2048}
"""The configuration of a peer run: keras_umdf's benchmark defaults, with
keras_umdf.UMDF's default dropout, `steps` (None: timed by seconds) and the
size of the timed matrix product."""


def synthetic_batches(config: dict) -> tuple[dict, dict, object, dict]:
    """(view a, view b, targets, test view) as float32 torch tensors: the
    values `measure_umdf.synthetic_data` draws for the same configuration."""
    import numpy as np
    import torch

    batch, length = config["batch_size"], config["length"]
    rng = np.random.default_rng(config["seed"])

    def view():
        return {
            m: torch.from_numpy(rng.standard_normal((batch, length, d), np.float32))
            for m, d in config["modality_dims"].items()
        }

    view_a, view_b = view(), view()
    y = torch.from_numpy(rng.standard_normal((batch, 1), np.float32))
    return view_a, view_b, y, view()


def gemm_gflops(size: int, repeats: int = 5) -> float:
    """Best GFLOP/s of torch's float32 product of two size x size matrices."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def measure(config: dict) -> dict:
    config = {**PEER_DEFAULTS, **config}
    import torch

    from benchmarks.peer.torch_umdf import TorchUMDF
    from benchmarks.peer.torch_umdf import umdf_loss
    from benchmarks.threads import pin_torch_threads

    pin_torch_threads()
    torch.manual_seed(config["seed"])
    model = TorchUMDF(
        config["modality_dims"],
        hidden_dim=config["hidden_dim"],
        num_heads=config["num_heads"],
        num_layers=config["num_layers"],
        dropout=config["dropout"],
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    view_a, view_b, y, test_view = synthetic_batches(config)
    batch = config["batch_size"]
    seconds, min_steps = config["train_seconds"], config["min_steps"]
    if config["steps"]:
        seconds, min_steps = 0.0, config["steps"]
    losses = []

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = umdf_loss(model(view_a, view_b), y, model.config)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    model.train()
    first_train, train_times = timed(train_step, seconds, min_steps)
    predictions = []

    def infer_step():
        predictions.append(model.predict(test_view))

    if not config["steps"]:
        seconds = config["infer_seconds"]
    model.eval()
    with torch.no_grad():
        first_infer, infer_times = timed(infer_step, seconds, min_steps)
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "dropout": config["dropout"],
        "first_train_step_s": first_train,
        "train_step_s": train_times,
        "train_samples_per_s": batch * len(train_times) / sum(train_times),
        "loss_finite": all(math.isfinite(v) for v in losses),
        "last_loss": losses[-1],
        "first_infer_step_s": first_infer,
        "infer_samples_per_s": batch * len(infer_times) / sum(infer_times),
        "prediction_finite": bool(torch.isfinite(predictions[-1]).all()),
        "infer_encodes": 1,
        "gemm_fp32_gflops": gemm_gflops(config["gemm_size"]),
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    print("RESULT " + json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
