"""`SearchSpace`: the ranges a UMDF search draws its hyper-parameters from."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from typing import Any

LAMBDA_NAMES = ("lambda_fea", "lambda_logits")


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The ranges of a UMDF search: distillation weights, learning rate, size.

    The distillation weights lambda_1 (`lambda_fea`) and lambda_2
    (`lambda_logits`) are not published (design decision 3, docs/design-decisions.md), so they are
    searched on a log scale, where 0.01, 0.1 and 1 are equally far apart. With
    `lambda_off=True` (default), 0 is an explicit extra choice for each of them:
    the Table 3 ablation points ("without L_fea", "without L_logits", and both
    off: plain training of the same network). KerasTuner expresses this as a
    boolean switch per weight, `fea_distillation` and `logits_distillation`, with
    the log-scale `lambda_fea` / `lambda_logits` active only when the switch is
    on (a conditional hyper-parameter), so Bayesian optimisation models "off"
    as its own category rather than as a tiny weight. A random search turns
    each switch off in about half of its trials; pass `lambda_off=False` to
    spend every trial on positive weights.

    The learning rate is searched on a log scale too (None: fixed at the
    hypermodel's `learning_rate`, e.g. the paper's per-dataset value);
    `hidden_dim` and `num_layers` are optional lists of choices (None: fixed at
    the hypermodel's value; one choice: fixed at that value).

    Args:
        lambda_fea: (low, high), 0 < low <= high: log-scale range of lambda_1.
            low == high fixes it.
        lambda_logits: (low, high): log-scale range of lambda_2.
        lambda_off: also try 0 (the term switched off) for each weight.
        learning_rate: (low, high) log-scale range of Adam's learning rate, a
            number to fix it, or None for the hypermodel's value.
        hidden_dim: choices of the common feature size d (each a multiple of
            the number of heads), or None.
        num_layers: choices of the number of MCIM layers D, or None.

    Example:

    ```python
    space = SearchSpace(lambda_fea=(0.01, 10.0), learning_rate=(3e-4, 3e-3),
                        hidden_dim=(32, 40))
    space = SearchSpace.from_file("space.toml")  # or .json, same keys
    space = space.replace(lambda_off=False)
    ```
    """

    lambda_fea: tuple[float, float] = (0.01, 10.0)
    lambda_logits: tuple[float, float] = (0.01, 10.0)
    lambda_off: bool = True
    learning_rate: tuple[float, float] | float | None = (3e-4, 3e-3)
    hidden_dim: tuple[int, ...] | None = None
    num_layers: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in LAMBDA_NAMES:
            object.__setattr__(self, name, _log_range(name, getattr(self, name)))
        if not isinstance(self.lambda_off, bool):
            raise ValueError(
                f"lambda_off must be true or false (whether 0 is tried for each "
                f"lambda); received {self.lambda_off!r}."
            )
        rate = self.learning_rate
        if rate is not None:
            if isinstance(rate, numbers.Real) and not isinstance(rate, bool):
                rate = _log_range("learning_rate", (rate, rate))
                rate = rate[0]
            else:
                rate = _log_range("learning_rate", rate)
            object.__setattr__(self, "learning_rate", rate)
        for name in ("hidden_dim", "num_layers"):
            object.__setattr__(self, name, _choices(name, getattr(self, name)))

    @classmethod
    def from_dict(
        cls, config: dict[str, Any], where: str = "search space"
    ) -> SearchSpace:
        """Creates a space from a dict with the field names as keys.

        Lists become tuples; a number for `learning_rate` (or a single int for
        `hidden_dim` / `num_layers`) fixes it.

        Raises:
            ValueError: a key is unknown or a value is out of range; the message
                names `where` (e.g. the file).
        """
        if not isinstance(config, dict):
            raise ValueError(
                f"{where}: expected a table of settings such as "
                f'{{"lambda_fea": [0.01, 10]}}; received {type(config).__name__}.'
            )
        known = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ValueError(
                f"{where}: unknown keys {unknown}; the keys of a search space are "
                f"{known}."
            )
        values = {}
        for key, value in config.items():
            if key in ("hidden_dim", "num_layers") and isinstance(value, int):
                value = (value,)
            if isinstance(value, list):
                value = tuple(value)
            values[key] = value
        try:
            return cls(**values)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> SearchSpace:
        """Reads a space from a JSON (`.json`) or TOML (`.toml`) file.

        Example file `space.toml`:

        ```toml
        lambda_fea = [0.001, 10.0]
        lambda_logits = [0.01, 1.0]
        lambda_off = false
        learning_rate = [1e-4, 3e-3]
        hidden_dim = [32, 40]
        ```

        Raises:
            FileNotFoundError: the file does not exist.
            ValueError: the file cannot be parsed or holds an invalid space.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No search-space file {path!r}; pass a .json or .toml file with "
                "keys such as lambda_fea = [0.01, 10]."
            )
        extension = os.path.splitext(path)[1].lower()
        if extension == ".json":
            with open(path, encoding="utf-8") as file:
                try:
                    config = json.load(file)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}: not valid JSON ({error}).") from None
        elif extension == ".toml":
            tomllib = _tomllib()
            with open(path, "rb") as file:
                try:
                    config = tomllib.load(file)
                except tomllib.TOMLDecodeError as error:
                    raise ValueError(f"{path}: not valid TOML ({error}).") from None
        else:
            raise ValueError(
                f"Search-space file {path!r} must end in .json or .toml; received "
                f"{extension or 'no extension'}."
            )
        return cls.from_dict(config, where=path)

    def replace(self, **changes) -> SearchSpace:
        """A copy with some fields changed (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The space as plain JSON-compatible values (tuples become lists)."""
        config = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            config[field.name] = list(value) if isinstance(value, tuple) else value
        return config


def _log_range(name: str, value) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a (low, high) pair of positive numbers for a log-scale "
            f"range; received {value!r}."
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high < low:
        hint = (
            " 0 cannot lie on a log scale: use lambda_off=True to try the term "
            "switched off."
            if name in LAMBDA_NAMES and low == 0
            else ""
        )
        raise ValueError(
            f"{name} must be a range (low, high) with 0 < low <= high; received "
            f"{value!r}.{hint}"
        )
    return (low, high)


def _choices(name: str, value) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        choices = tuple(value)
    except TypeError:
        choices = (value,)
    bad = [
        v
        for v in choices
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
    ]
    if not choices or bad or len(set(choices)) != len(choices):
        raise ValueError(
            f"{name} must be a list of distinct positive integers to choose from; "
            f"received {value!r}."
        )
    return tuple(int(v) for v in choices)


def _tomllib():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ImportError(
                "Reading a .toml search space needs Python 3.11 or the tomli "
                "package (pip install tomli); or write the same keys as JSON."
            ) from None
    return tomllib
