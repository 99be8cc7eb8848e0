"""The machine's fp32 matrix-multiply peak, measured with NumPy's BLAS.

Run as a child of `benchmarks/run.py` (which pins the thread count through the
environment): `python -m benchmarks.matmul_peak [size]` prints one `RESULT {json}`
line with `gemm_fp32_gflops`, the best of several size x size x size float32
products (default 2048).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

SIZE = 2048


def measure(size: int = SIZE, repeats: int = 5) -> float:
    """Best GFLOP/s of `repeats` float32 products of two size x size matrices."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b  # Warm-up: thread pool and caches.
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else SIZE
    print("RESULT " + json.dumps({"gemm_fp32_gflops": measure(size)}), flush=True)
