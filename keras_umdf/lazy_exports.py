"""Public names of a package that are imported on first use (PEP 562).

`keras_umdf.data` and `keras_umdf.experiments` name their contents without
importing them: `import keras_umdf.data` must not import TensorFlow (the package
runs on JAX- or PyTorch-only machines), and the command line reads its choice
lists from `keras_umdf.experiments` without importing Keras.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(
    package: str, exports: dict[str, str], namespace: dict
) -> tuple[Callable, Callable]:
    """Returns the `__getattr__` and `__dir__` of a package with lazy names.

    Args:
        package: the package's `__name__`.
        exports: public name -> the submodule (below `package`) that defines it.
        namespace: the package's `globals()`; a name is stored there once
            imported, so the submodule is looked up only once.

    Raises:
        ValueError: a name is also the name of its submodule. Importing the
            submodule (from anywhere) sets the package's attribute to the
            module, and `__getattr__` is never asked again; such a name must
            be imported eagerly (as `keras_umdf.data.synthetic` is).
    """
    same = sorted(name for name, module in exports.items() if name == module)
    if same:
        raise ValueError(
            f"{package}: {same} are named like their submodules; import them "
            "in the package's __init__ instead of lazily."
        )

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{exports[name]}")
        value = getattr(module, name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
