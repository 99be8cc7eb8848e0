"""Mean and standard deviation over seeds, as the paper reports its results."""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np


def aggregate_seeds(results: Sequence[Mapping]) -> dict:
    """Averages the results of the same protocol run with several seeds.

    The results are nested dicts whose leaves are metrics dicts (metric name ->
    float), e.g. `evaluate_protocol`'s `{"conditions": {"l": {"mae": ...}},
    "frame_drop": {0.1: {...}}}`. Every leaf metric becomes its mean over the
    seeds and, with two seeds or more, "<metric>_std", the sample standard
    deviation (ddof=1) over the seeds. Only keys present in every seed's
    results are kept. A NaN in any seed (e.g. an undefined Corr) makes the mean
    NaN, so that a table never hides it.

    Args:
        results: one nested results dict per seed (at least one).

    Returns:
        A nested dict of the same shape with means and standard deviations.

    Raises:
        ValueError: `results` is empty or the seeds' results differ in shape.

    Example:

    ```python
    per_seed = [evaluate_protocol(model_s, data["test"]) for model_s in models]
    summary = aggregate_seeds(per_seed)
    summary["conditions"]["avg"]["mae"], summary["conditions"]["avg"]["mae_std"]
    ```
    """
    results = list(results)
    if not results:
        raise ValueError("aggregate_seeds needs the results of at least one seed.")
    return _aggregate(results, path="results")


def _aggregate(values: list, path: str):
    if all(isinstance(v, Mapping) for v in values):
        keys = [k for k in values[0] if all(k in v for v in values[1:])]
        if not keys:
            raise ValueError(
                f"{path}: the seeds' results have no key in common; received keys "
                f"{[sorted(map(str, v)) for v in values]}."
            )
        leaves = all(
            not isinstance(v[k], Mapping) for v in values for k in keys
        )  # a metrics dict
        if leaves:
            return _aggregate_metrics(values, keys, path)
        return {k: _aggregate([v[k] for v in values], f"{path}[{k!r}]") for k in keys}
    raise ValueError(
        f"{path}: expected a dict of metrics in every seed's results; received "
        f"{[type(v).__name__ for v in values]}."
    )


def _aggregate_metrics(values: list, keys: list, path: str) -> dict[str, float]:
    summary = {}
    for key in keys:
        if str(key).endswith("_std"):
            continue
        numbers = []
        for v in values:
            x = v[key]
            if x is None:
                x = math.nan
            if isinstance(x, bool) or not isinstance(x, (int, float, np.number)):
                raise ValueError(
                    f"{path}[{key!r}] must be a number in every seed's results; "
                    f"received {x!r}."
                )
            numbers.append(float(x))
        array = np.asarray(numbers)
        summary[key] = float(np.mean(array))
        if len(array) > 1:
            summary[f"{key}_std"] = float(np.std(array, ddof=1))
    return summary
