"""The whole check: lint, format, then the test suite under each Keras backend.

The README's test command runs this file; `.ci/run` runs the README's test command.
Each backend runs in its own process because Keras fixes the backend at import.

Usage: python tests/run_all_backends.py [--backends tensorflow,jax,torch] [pytest args]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

BACKENDS = ("tensorflow", "jax", "torch")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One pytest worker per core (pytest-xdist). Most of the suite's time is Python
# tracing and compiling models, which uses one core, so workers scale well. Each
# file stays on one worker, so module-scoped fixtures (a shared trained model) are
# built once.
XDIST = ("-n", "auto", "--dist", "loadfile")
# The slowest tests of each backend, for keeping the suite short.
DURATIONS = ("--durations", "15")
# JAX spends most of its test time compiling with XLA. The tests' programs are
# tiny, so compile them at XLA's lowest optimisation level, and keep compiled
# programs in a cache for this run: many tests build the same small models.
# Entries are written under a file lock (the cache has a size limit, which turns
# the lock on), so the pytest workers and their child processes share it safely.
JAX_XLA_FLAGS = (
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
)


def jax_test_env(cache_dir):
    """Environment additions for the JAX run: fast compilation, a shared cache."""
    flags = f"{os.environ.get('XLA_FLAGS', '')} {JAX_XLA_FLAGS}".strip()
    return {
        "XLA_FLAGS": flags,
        "JAX_COMPILATION_CACHE_DIR": cache_dir,
        "JAX_COMPILATION_CACHE_MAX_SIZE": str(4 * 2**30),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.5",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def run(title, command, env=None):
    print(f"\n===== {title}: {' '.join(command)}", flush=True)
    start = time.perf_counter()
    code = subprocess.call(command, cwd=ROOT, env=env)
    print(f"===== {title}: exit {code} in {time.perf_counter() - start:.0f} s")
    return code


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args, pytest_args = parser.parse_known_args()
    failures = []
    python = sys.executable
    for title, command in (
        ("ruff check", [python, "-m", "ruff", "check", "."]),
        ("ruff format", [python, "-m", "ruff", "format", "--check", "."]),
    ):
        if run(title, command):
            failures.append(title)
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONHASHSEED="0")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        cache_dir = None
        if backend == "jax":
            cache_dir = tempfile.mkdtemp(prefix="keras-umdf-jax-cache-")
            env.update(jax_test_env(cache_dir))
        try:
            code = run(
                f"pytest [{backend}]",
                [python, "-m", "pytest", "-p", "no:cacheprovider", *XDIST, *DURATIONS]
                + pytest_args,
                env=env,
            )
        finally:
            if cache_dir is not None:
                shutil.rmtree(cache_dir, ignore_errors=True)
        # Exit code 5 means "no tests collected": a suite that ran nothing fails.
        if code:
            failures.append(f"pytest [{backend}] (exit {code})")
    if failures:
        print(f"\nFAILED: {', '.join(failures)}")
        sys.exit(1)
    print("\nAll checks passed on backends: " + args.backends)


if __name__ == "__main__":
    main()
