"""Results as strict JSON and back: NaN as null, frame-drop rates as string keys,
files written whole or not at all."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def json_ready(value):
    """`value` with NumPy numbers as Python ones, NaN/inf as None and float
    keys (frame-drop rates) as strings: what `json.dumps` writes strictly."""
    if isinstance(value, Mapping):
        return {_json_key(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    return value


def _json_key(key) -> str:
    if isinstance(key, (float, np.floating)):
        return repr(round(float(key), 6))
    return str(key)


def protocol_results_from_json(results: dict) -> dict:
    """Undoes `json_ready` on one run's protocol results: null metrics become
    NaN and the frame-drop rates floats."""
    out = {}
    for part, value in results.items():
        if part == "frame_drop":
            out[part] = {float(p): nan_metrics(m) for p, m in value.items()}
        elif part == "conditions":
            out[part] = {c: nan_metrics(m) for c, m in value.items()}
        else:
            out[part] = value
    return out


def nan_metrics(metrics: dict) -> dict:
    """A metrics dict read back: JSON null becomes NaN."""
    return {k: math.nan if v is None else v for k, v in metrics.items()}
