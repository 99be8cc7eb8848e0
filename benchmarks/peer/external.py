"""Runs a peer script from outside the project (`--peer-path`) as a child process.

A cross-check of the project's own peer (`torch_umdf.py`): any plain-PyTorch
UMDF script that takes `BATCH STEPS` as arguments and prints
`train_samples_per_s=...`, `infer_samples_per_s=...` and
`gemm_fp32_gflops=...`, such as `../shared/perf/torch_reference.py` beside a
development checkout. It is run unmodified, inside a small wrapper that adds
its peak RSS to what it prints.
"""

from __future__ import annotations

import os
import re

_WRAPPER = (
    "import resource, runpy, sys\n"
    "path = sys.argv[1]\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(path, run_name='__main__')\n"
    "print('peak_rss_mb=%.1f' % (resource.getrusage(resource.RUSAGE_SELF)"
    ".ru_maxrss / 1024))\n"
)
_FIELDS = ("train_samples_per_s", "infer_samples_per_s", "gemm_fp32_gflops")


def resolve(path: str, root: str) -> str:
    """The absolute path of the peer script (relative paths from `root`), or a
    clear error if it is missing."""
    full = path if os.path.isabs(path) else os.path.join(root, path)
    full = os.path.normpath(full)
    if not os.path.isfile(full):
        raise FileNotFoundError(
            f"The peer script {full!r} (--peer-path {path!r}) does not exist. Pass "
            "--peer-path PATH to an existing script, or leave --peer-path out: the "
            "project's own peer (benchmarks/peer/torch_umdf.py) runs by default."
        )
    return full


def command(python: str, path: str, batch_size: int, steps: int) -> list[str]:
    """The command line that runs the peer at `batch_size` for `steps` steps."""
    return [python, "-c", _WRAPPER, path, str(batch_size), str(steps)]


def parse(output: str) -> dict:
    """The figures the peer printed: samples/s, its GEMM GFLOP/s, peak RSS."""
    result = {}
    for name in (*_FIELDS, "peak_rss_mb"):
        match = re.search(rf"{name}=([0-9.]+)", output)
        if match is None:
            raise ValueError(
                f"The peer's output has no {name}=...; it printed:\n{output[-2000:]}"
            )
        result[name] = float(match.group(1))
    return result
