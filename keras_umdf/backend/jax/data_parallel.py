"""The JAX engine of `keras_umdf.distribution` ("data_parallel")."""

from __future__ import annotations

import os
from collections.abc import Sequence

import jax
import keras


def data_parallel(devices: Sequence[str] | None):
    """`keras.distribution.DataParallel` over `devices` (default every JAX
    device), after starting JAX's multi-process runtime when
    `KERAS_DISTRIBUTION_NUM_PROCESSES` asks for several processes.

    Raises:
        ValueError: `devices` is empty, or the number of processes is not an
            integer.
        RuntimeError: the multi-process runtime is started after JAX has
            computed something.
    """
    if _wants_multi_process() and not jax.distributed.is_initialized():
        try:
            keras.distribution.initialize()
        except RuntimeError as error:
            raise RuntimeError(
                "JAX's multi-process runtime (KERAS_DISTRIBUTION_NUM_PROCESSES="
                f"{os.environ['KERAS_DISTRIBUTION_NUM_PROCESSES']}) must start "
                "before any JAX computation; open "
                "distribution_scope('data_parallel') first, before building "
                f"datasets or models ({error})."
            ) from error
    devices = None if devices is None else list(devices)
    if devices is not None and not devices:
        raise ValueError(
            "devices must name at least one device, e.g. ['gpu:0', 'gpu:1']; "
            "received devices=[]. Pass None for every JAX device."
        )
    return keras.distribution.DataParallel(devices=devices)


def _wants_multi_process() -> bool:
    value = os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES")
    if value is None:
        return False
    try:
        return int(value) > 1
    except ValueError as error:
        raise ValueError(
            "KERAS_DISTRIBUTION_NUM_PROCESSES must be the number of JAX "
            f"processes; received {value!r}."
        ) from error
