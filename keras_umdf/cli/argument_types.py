"""Argument types that refuse a bad value while the command line is parsed,
before any data is read or any directory is touched: the error names the flag
and the value (`OneLineArgumentParser` prints it as one line)."""

from __future__ import annotations

import argparse
import math


def finite_float(text: str) -> float:
    """A float flag's value; NaN and infinities are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; pass e.g. 0.5"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a finite number; pass e.g. 0.5"
        )
    return value


def positive_int(text: str) -> int:
    """An int flag's value that must be >= 1 (a batch size)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number; pass e.g. 128"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; received {value}")
    return value


def condition(text: str) -> str:
    """One modality condition, letters of "lav" (e.g. "la"), in the paper's
    order; an unknown one is refused with the known ones named."""
    from keras_umdf.modalities import parse_conditions

    try:
        conditions = parse_conditions(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).rstrip(".")) from None
    if len(conditions) != 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not one condition; pass letters of 'lav', e.g. 'la'"
        )
    return conditions[0]
