"""A restricted unpickler for dataset pickles: NumPy arrays and plain containers only.

MulT and MMSA ship their datasets as Python pickles. `pickle.load` on a file from
an untrusted source runs whatever code the file names (a pickle can call any
importable function, `os.system` included), so keras_umdf never calls it on a
dataset. `safe_pickle_load` admits only what a dataset pickle needs: NumPy
arrays (including object and string arrays), NumPy scalars and dtypes, and the
plain containers and scalars of Python (dict, list, tuple, set, frozenset, str,
bytes, bytearray, int, float, complex, bool, None). Any other global is refused
before it is imported, so nothing in a malicious file runs.
"""

from __future__ import annotations

import codecs
import collections
import importlib
import os
import pickle
from typing import Any
from typing import BinaryIO

import numpy as np

_NUMPY_CORE = "numpy._core" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core"


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict"):
    """`_codecs.encode` limited to latin-1: how protocol 0-2 pickles store bytes."""
    spelling = str(encoding).lower().replace("-", "").replace("_", "")
    if spelling not in ("latin1", "iso88591", "l1"):
        raise UnsafePickleError(
            f"The pickle asks for _codecs.encode with encoding {encoding!r}; only "
            "'latin1' (how Python 3 stores bytes in protocol 0-2 pickles) is allowed."
        )
    return codecs.encode(text, "latin1", errors)


def _numpy_core(submodule: str, name: str):
    return getattr(importlib.import_module(f"{_NUMPY_CORE}.{submodule}"), name)


_BUILTINS = {
    "set": set,
    "frozenset": frozenset,
    "bytearray": bytearray,
    "complex": complex,
    "list": list,
    "dict": dict,
    "tuple": tuple,
}
_NUMPY_RECONSTRUCTORS = (
    ("multiarray", "_reconstruct"),  # ndarray, protocols 0-4
    ("multiarray", "scalar"),  # NumPy scalars
    ("numeric", "_frombuffer"),  # ndarray, protocol 5
)
# (module, name) as a pickle writes it -> the object it gets. Python 2's
# __builtin__ and NumPy 1's numpy.core spellings are included.
_ALLOWED = {
    **{
        (module, name): obj
        for module in ("builtins", "__builtin__")
        for name, obj in _BUILTINS.items()
    },
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): _latin1_encode,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{
        (f"{core}.{submodule}", name): _numpy_core(submodule, name)
        for core in ("numpy.core", "numpy._core")
        for submodule, name in _NUMPY_RECONSTRUCTORS
    },
}
# What a corrupt or foreign file makes the unpickler raise.
_NOT_A_PICKLE = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
)


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle named a global that `safe_pickle_load` does not admit."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise UnsafePickleError(
                f"Refused to load the global {module}.{name} from the pickle: "
                "keras_umdf loads dataset pickles with a restricted unpickler "
                "that admits only NumPy arrays, NumPy scalars and plain "
                "containers, because unpickling an untrusted file runs arbitrary "
                "code. If the file is from a source you trust, convert it to "
                "plain NumPy arrays in dicts (or an .npz), or load it yourself "
                "with pickle.load and build a keras_umdf.data.MultimodalDataset."
            )
        return allowed

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"Refused the persistent id {pid!r}: dataset pickles hold plain "
            "NumPy arrays and containers only."
        )


def _load(file: BinaryIO, encoding: str) -> Any:
    return _RestrictedUnpickler(file, encoding=encoding).load()


def _describe(file: BinaryIO, name: str, error: Exception) -> pickle.UnpicklingError:
    head = b""
    try:
        file.seek(0)
        head = file.read(8)
    except (OSError, ValueError):
        pass
    hint = ""
    if head.startswith(b"\x89HDF"):
        hint = (
            " It is an HDF5 file (a CMU-MultimodalSDK .csd?): read it with "
            "keras_umdf.data.load_csd."
        )
    elif head.startswith(b"PK"):
        hint = " It is a zip archive (an .npz?): open it with numpy.load."
    return pickle.UnpicklingError(
        f"{name} is not a readable Python pickle ({type(error).__name__}: "
        f"{error}).{hint} Pass a MulT or MMSA dataset pickle."
    )


def safe_pickle_load(file_or_path: str | os.PathLike | BinaryIO) -> Any:
    """Loads a dataset pickle, admitting only NumPy data and plain containers.

    Python 3 pickles of any protocol and Python 2 pickles (MulT's files are
    Python-2-era) load: the file is read with the default ASCII decoding of
    Python 2 strings first and, if that fails, again with latin-1, as NumPy
    recommends for Python 2 arrays.

    Args:
        file_or_path: a path, or a binary file object (seekable, so that it can
            be re-read with latin-1).

    Returns:
        The unpickled object (for the field's datasets, a dict of splits).

    Raises:
        FileNotFoundError: the path does not exist.
        UnsafePickleError: (a `pickle.UnpicklingError`) the pickle names a
            global other than NumPy's array and scalar constructors and the
            builtin containers; the message names it (`module.name`). Nothing
            from the file has run.
        pickle.UnpicklingError: the file is not a pickle (e.g. an HDF5 file).

    Example:

    ```python
    data = keras_umdf.data.safe_pickle_load("mosi_data.pkl")
    data["train"]["text"].shape  # (1284, 50, 300)
    ```
    """
    if isinstance(file_or_path, (str, os.PathLike)):
        path = os.fspath(file_or_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No such file: {path!r}; pass the path of a dataset pickle."
            )
        with open(path, "rb") as file:
            return _load_file(file, repr(path))
    name = repr(getattr(file_or_path, "name", "the file object"))
    return _load_file(file_or_path, name)


def _load_file(file: BinaryIO, name: str) -> Any:
    start = file.tell() if file.seekable() else None
    try:
        return _load(file, "ASCII")
    except UnsafePickleError as error:
        raise UnsafePickleError(f"{name}: {error}") from None
    except UnicodeDecodeError as error:
        if start is None:
            raise pickle.UnpicklingError(
                f"{name} is a Python 2 pickle with non-ASCII strings; pass a "
                "seekable file (or a path) so that it can be re-read as latin-1."
            ) from error
        file.seek(start)
    except _NOT_A_PICKLE as error:
        raise _describe(file, name, error) from error
    try:
        return _load(file, "latin1")
    except UnsafePickleError as error:
        raise UnsafePickleError(f"{name}: {error}") from None
    except _NOT_A_PICKLE as error:
        raise _describe(file, name, error) from error
