"""Writes a model's `.weights.h5` file, refusing cleanly when it cannot fit.

HDF5 (through h5py) does not survive every failed write: a weights file that
reaches the process's file-size limit (`ulimit -f`) kills the process with a
segmentation fault instead of raising an error. So before Keras writes the
file, the room it needs is compared with the file-size limit and with the free
space of its disk; a shortfall raises the same one-line `OSError` as any other
failed write (`keras_umdf.data.atomic_file`), before HDF5 starts.

The room is estimated from the variables that `save_weights` stores (the
model's and the optimizer's) plus HDF5's bookkeeping, measured at about 0.87 kB
per variable with h5py 3 (a UMDF at the MOSI preset: 10.7 MB of values and
1432 variables give a 12.0 MB file).
"""

from __future__ import annotations

import errno
import os
import shutil

import numpy as np

from keras_umdf.data.atomic_file import named_os_error

BOOKKEEPING_BYTES_PER_VARIABLE = 1024
"""A bound on HDF5's bytes per stored variable (measured: about 870)."""


def weights_file_bytes(model) -> int:
    """The estimated size of `model.save_weights`'s file, in bytes."""
    optimizer = getattr(model, "optimizer", None)
    variables = list(model.weights)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables += list(optimizer.variables)
    values = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)
    return values + BOOKKEEPING_BYTES_PER_VARIABLE * len(variables)


def check_room(path: str, num_bytes: int) -> None:
    """Raises the OSError of a failed write when `num_bytes` cannot be written
    to `path` (file-size limit, free disk space)."""
    if os.name == "posix":
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and num_bytes > limit:
            raise named_os_error(
                OSError(errno.EFBIG, os.strerror(errno.EFBIG)),
                path,
                detail=f"about {num_bytes} bytes needed, the limit is {limit}",
            )
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
    if num_bytes > free:
        raise named_os_error(
            OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
            path,
            detail=f"about {num_bytes} bytes needed, {free} free",
        )


def save_weights_file(model, path: str) -> None:
    """`model.save_weights(path)` after `check_room`."""
    check_room(path, weights_file_bytes(model))
    model.save_weights(path)
