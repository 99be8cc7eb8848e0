"""The three KerasTuner tuners of a UMDF search, recording who ran each trial."""

from __future__ import annotations

import datetime
import json
import os
import socket

import keras_tuner

TUNER_NAMES = ("random", "bayesian", "hyperband")
WORKER_FILE = "worker.json"
"""Written into each trial's directory: which tuner process ran the trial."""


class _UMDFTuner:
    """Writes `worker.json` (tuner id, host, process) into each trial's directory.

    In a distributed search the chief's oracle knows which trials ran, not
    where; this file tells the results which worker ran each one.
    """

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        record = {
            "tuner_id": self.tuner_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        path = os.path.join(self.get_trial_dir(trial.trial_id), WORKER_FILE)
        with open(path, "w", encoding="utf-8") as file:
            json.dump(record, file, indent=2)


class UMDFRandomSearch(_UMDFTuner, keras_tuner.RandomSearch):
    """`keras_tuner.RandomSearch` that records which worker ran each trial.

    See `make_tuner`.
    """


class UMDFBayesianOptimization(_UMDFTuner, keras_tuner.BayesianOptimization):
    """`keras_tuner.BayesianOptimization` that records which worker ran each trial.

    See `make_tuner`.
    """


class UMDFHyperband(_UMDFTuner, keras_tuner.Hyperband):
    """`keras_tuner.Hyperband` that records which worker ran each trial.

    See `make_tuner`.
    """


def make_tuner(
    name: str,
    hypermodel,
    *,
    directory: str,
    project_name: str,
    max_trials: int,
    epochs: int,
    seed: int,
    hyperband_factor: int = 3,
    hyperband_iterations: int = 1,
    overwrite: bool = False,
    max_consecutive_failed_trials: int = 3,
):
    """Creates the tuner `name` ("random", "bayesian" or "hyperband").

    The objective is the hypermodel's `TaskObjective`. `max_trials` bounds the
    random and Bayesian searches; Hyperband sizes itself from `epochs` (its
    `max_epochs`), `hyperband_factor` and `hyperband_iterations` (each
    iteration runs all its brackets once), and trains its trials for up to
    `epochs` epochs.

    Raises:
        ValueError: an unknown tuner or a bad count.
    """
    check_tuner_arguments(
        name, max_trials, epochs, hyperband_factor, hyperband_iterations
    )
    common = dict(
        hypermodel=hypermodel,
        objective=hypermodel.objective.to_keras_tuner(),
        # KerasTuner draws a random seed for seed=0; shift so every seed counts.
        seed=seed + 1,
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
        max_consecutive_failed_trials=max_consecutive_failed_trials,
    )
    if name == "random":
        return UMDFRandomSearch(max_trials=max_trials, **common)
    if name == "bayesian":
        check_tuner_requirements(name)
        return UMDFBayesianOptimization(max_trials=max_trials, **common)
    return UMDFHyperband(
        max_epochs=epochs,
        factor=hyperband_factor,
        hyperband_iterations=hyperband_iterations,
        **common,
    )


def check_tuner_arguments(
    name: str,
    max_trials: int,
    epochs: int,
    hyperband_factor: int = 3,
    hyperband_iterations: int = 1,
) -> None:
    """Raises ValueError for an unknown tuner or a count out of range."""
    if name not in TUNER_NAMES:
        raise ValueError(f"Unknown tuner {name!r}; use one of {TUNER_NAMES}.")
    for label, value, low in (
        ("max_trials", max_trials, 1),
        ("epochs", epochs, 1),
        ("hyperband_factor", hyperband_factor, 2),
        ("hyperband_iterations", hyperband_iterations, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{label} must be an int >= {low}; received {value!r}.")


def check_tuner_requirements(name: str) -> None:
    """Raises ImportError when a package the tuner needs is missing.

    KerasTuner's Bayesian optimisation needs scikit-learn and SciPy, which it
    does not install; without them it would fail deep inside its first trial.
    """
    if name != "bayesian":
        return
    missing = []
    for module in ("sklearn", "scipy"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        names = " ".join("scikit-learn" if m == "sklearn" else m for m in missing)
        raise ImportError(
            f"The Bayesian tuner needs {names} (KerasTuner's Gaussian process): "
            f'pip install "keras-umdf[bayesian]" (or pip install {names}); or use '
            "--tuner random or hyperband."
        )
