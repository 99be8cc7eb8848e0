"""Checks of the constructor arguments that UMDF and SDUMC share (private)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from keras_umdf.argument_validation import check_int


def validate_modality_dims(
    modality_dims, names: Sequence[str], example: str
) -> dict[str, int]:
    """Checks a `modality_dims` dict: known stream names, positive int widths.

    Args:
        modality_dims: the user's argument, e.g. `{"text": 300, "audio": 74}`.
        names: the stream names the model knows, in their canonical order.
        example: a valid dict as text, shown when the argument is not a dict.

    Returns:
        The widths as plain ints, in the order of `names`.

    Raises:
        ValueError: not a non-empty dict, an unknown name, or a width that is
            not a positive int; the message names the received value.
    """
    if not isinstance(modality_dims, dict) or not modality_dims:
        raise ValueError(
            f"modality_dims must be a dict such as {example}; received "
            f"{modality_dims!r}."
        )
    unknown = [m for m in modality_dims if m not in names]
    if unknown:
        kind = "modality" if len(names) == 3 else "stream"
        raise ValueError(
            f"Unknown {kind} names {unknown} in modality_dims; use the names "
            f"{list(names)}."
        )
    widths = {
        m: check_int(f"modality_dims[{m!r}] (the feature width)", d)
        for m, d in modality_dims.items()
    }
    return {m: widths[m] for m in names if m in widths}


def check_choice(name: str, value, choices) -> None:
    """Raises a ValueError naming `value` unless it is one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; received {value!r}.")


def check_loss_weight(name: str, value) -> float:
    """A loss weight as a float; raises unless it is a finite number >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"{name} must be a finite number >= 0 (0 switches the term off); "
            f"received {value!r}."
        )
    return float(value)


def check_temperature(name: str, value) -> float:
    """A temperature as a float; raises unless it is a finite number > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not math.isfinite(value)
        or not value > 0
    ):
        raise ValueError(f"{name} must be a number > 0; received {value!r}.")
    return float(value)


def check_bool(name: str, value) -> bool:
    """`value` as a bool; raises unless it is True or False (a NumPy bool too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; received {value!r}.")
    return bool(value)
