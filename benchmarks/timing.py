"""Timing one phase of a benchmark child: a warm-up, then timed steps."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(
    step: Callable[[], object], seconds: float, min_steps: int
) -> tuple[float, list[float]]:
    """Runs `step` once and times it (the first call: tracing, compiling,
    allocating), once more untimed (some backends specialise on the second
    call), then times it for at least `min_steps` steps and `seconds` seconds.

    Returns:
        (seconds of the first call, seconds of each timed step).
    """
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    step()
    times = []
    begin = time.perf_counter()
    while len(times) < min_steps or time.perf_counter() - begin < seconds:
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return first, times
