"""Checks of numeric arguments that the layers, models, data and feature
extractors share (private)."""

from __future__ import annotations

import math
import numbers


def check_int(name: str, value, minimum: int = 1, *, none_means: str = ""):
    """`value` as a plain int; raises unless it is an integer >= `minimum`.

    Python and NumPy integers pass; bools, floats (even 2.0) and strings do not.
    With `none_means` (what None stands for, e.g. "4 x the input width"), None
    passes too and is returned as is.

    Raises:
        ValueError: naming `name` and the received value, e.g. "num_layers must be
            a positive int; received 0." (`minimum=1`) or "first_epoch must be an
            int >= 0; received -1.".
    """
    if value is None and none_means:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        if none_means:
            wanted += f", or None for {none_means}"
        raise ValueError(f"{name} must be {wanted}; received {value!r}.")
    return int(value)


def check_positive_number(name: str, value, *, wanted: str = "a positive number"):
    """`value` as a float; raises unless it is a finite number > 0.

    Python and NumPy numbers pass; bools and strings do not.

    Raises:
        ValueError: naming `name`, what is wanted and the received value, e.g.
            "fps must be a positive number of frames per second; received -1.".
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be {wanted}; received {value!r}.")
    return float(value)
