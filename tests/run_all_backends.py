"""The whole check: lint, format, then the test suite under each Keras backend.

The README's test command runs this file; `.ci/run` runs the README's test command.
Each backend runs in its own process because Keras fixes the backend at import.

Usage: python tests/run_all_backends.py [--backends tensorflow,jax,torch] [pytest args]
"""

import argparse
import os
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One pytest worker per core (pytest-xdist). Most of the suite's time is Python
# tracing and compiling models, which uses one core, so workers scale well. Each
# file stays on one worker, so module-scoped fixtures (a shared trained model) are
# built once.
XDIST = ("-n", "auto", "--dist", "loadfile")


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
        code = run(
            f"pytest [{backend}]",
            [python, "-m", "pytest", "-p", "no:cacheprovider", *XDIST, *pytest_args],
            env=env,
        )
        # Exit code 5 means "no tests collected": a suite that ran nothing fails.
        if code:
            failures.append(f"pytest [{backend}] (exit {code})")
    if failures:
        print(f"\nFAILED: {', '.join(failures)}")
        sys.exit(1)
    print("\nAll checks passed on backends: " + args.backends)


if __name__ == "__main__":
    main()
