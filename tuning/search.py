"""`search`: run, resume or join a KerasTuner search of UMDF's lambdas."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np

from keras_umdf.data.atomic_file import atomic_path
from tuning.distributed import DistributedSettings
from tuning.distributed import distributed_environment
from tuning.distributed import serve_oracle
from tuning.distributed import wait_for_chief
from tuning.hypermodel import UMDFHyperModel
from tuning.objectives import TaskObjective
from tuning.results import RESULT_FILES
from tuning.results import write_results
from tuning.search_space import SearchSpace
from tuning.tuners import check_tuner_arguments
from tuning.tuners import check_tuner_requirements
from tuning.tuners import make_tuner

SEARCH_CONFIG = "search_config.json"
"""The settings of the search in its directory; a restart must match them."""
PROJECT_NAME = "trials"
"""KerasTuner's project folder inside the search directory."""
_TEMPORARY_PREFIX = ".search_config"
# Settings a restart may change: more trials extend a finished search.
_RESUMABLE_CHANGES = ("max_trials",)


def search(
    data,
    directory: str | os.PathLike,
    *,
    tuner: str = "random",
    max_trials: int = 10,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    search_space: SearchSpace | None = None,
    objective: str | TaskObjective | None = None,
    incomplete_average: bool = False,
    hyperband_factor: int = 3,
    hyperband_iterations: int = 1,
    overwrite: bool = False,
    distributed: DistributedSettings | None = None,
    save_model: bool = True,
    verbose: int | str = 1,
    **model_kwargs,
) -> dict | None:
    """Runs a KerasTuner search of UMDF's lambda_1 / lambda_2, or resumes it.

    Every trial builds a `UMDF` for `data` (`UMDFHyperModel`), trains it on
    `data["train"]` for `epochs` epochs and scores it on `data["valid"]` with a
    validation task metric (`TaskObjective`: MAE for regression, F1 for
    classification, optionally averaged over the six incomplete-modality
    conditions), never `val_loss`. Test data is never used.

    The directory holds the whole search: `search_config.json` (its settings),
    `trials/` (KerasTuner's oracle state and one folder per trial, with its
    checkpoint), and the results `results.json`, `results.md`,
    `best_model.keras`, `objective.png` (see `tuning.results`).

    Restarting with the same directory and settings resumes: finished trials are
    kept and not run again, and a trial cut off mid-way runs again from its
    start. A larger `max_trials` extends a finished search. Other settings
    differing from the saved ones are refused. Nothing is deleted unless
    `overwrite=True`, which deletes a previous search in `directory` (only the
    files a search writes), and a directory that holds anything else is refused.

    Distributed (`distributed=DistributedSettings(...)`, or KerasTuner's
    environment variables): call `search` with the same arguments in every
    process and one shared directory. The chief (tuner id "chief") serves the
    oracle on `distributed.address` (127.0.0.1 by default: the gRPC service is
    unauthenticated) and writes the results when all trials are done; each
    worker runs trials until the oracle has none left and returns None.

    Args:
        data: a `keras_umdf.data.MultimodalDataset` with "train" and "valid".
        directory: the search directory (created if needed).
        tuner: "random", "bayesian" or "hyperband".
        max_trials: trials of a random or Bayesian search (Hyperband's number
            follows from `epochs`, `hyperband_factor` and
            `hyperband_iterations`).
        epochs: training epochs per trial (Hyperband: the most per trial).
        batch_size: training and validation batch size.
        learning_rate: Adam's learning rate when the space does not search it.
        seed: seed of the oracle, the weight initialisation and the pipeline.
        search_space: a `SearchSpace`; default `SearchSpace()`.
        objective: a metric name of `tuning.objectives.OBJECTIVE_METRICS` or a
            `TaskObjective`; default the dataset's task metric.
        incomplete_average: optimise the metric's mean over the six
            incomplete-modality conditions ("val_avg_<metric>").
        hyperband_factor: Hyperband's reduction factor.
        hyperband_iterations: how many times Hyperband runs all its brackets
            (with `epochs=1`, one trial each).
        overwrite: delete a previous search in `directory` first.
        distributed: this process's part in a distributed search; default from
            KerasTuner's environment variables (none: a local search).
        save_model: write best_model.keras.
        verbose: KerasTuner's and `fit`'s verbosity.
        **model_kwargs: fixed `UMDF` arguments (e.g. `num_heads`, `hidden_dim`).

    Returns:
        The results (as in results.json, plus "files" and "resumed_trials") on
        the chief or a local search; None on a worker.

    Raises:
        ValueError: bad settings, or `directory` holds a search with other
            settings.
        FileExistsError: `directory` exists and is not a search directory.
        ImportError: the Bayesian tuner without scikit-learn and SciPy.

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosi", scale=0.1)
    results = tuning.search(data, "runs/search", tuner="bayesian",
                            max_trials=20, epochs=10, num_heads=10)
    results["best"]  # {"lambda_fea": ..., "lambda_logits": ..., ...}
    ```
    """
    # Everything is checked before anything is written.
    check_tuner_arguments(
        tuner, max_trials, epochs, hyperband_factor, hyperband_iterations
    )
    check_tuner_requirements(tuner)
    for split_name in ("train", "valid"):
        if split_name not in data.splits:
            raise ValueError(
                f"A search trains on the 'train' split and scores the 'valid' split; "
                f"this dataset has splits {sorted(data.splits)}."
            )
    if objective is None or isinstance(objective, str):
        objective = TaskObjective.for_task(
            data.task, bool(data.multi_label), objective, incomplete_average
        )
    elif incomplete_average and not objective.incomplete_average:
        objective = TaskObjective(objective.metric, incomplete_average=True)
    hypermodel = UMDFHyperModel.for_dataset(
        data,
        search_space=search_space,
        objective=objective,
        learning_rate=learning_rate,
        batch_size=batch_size,
        seed=seed,
        **model_kwargs,
    )
    if distributed is None:
        distributed = DistributedSettings.resolve()
    is_worker = distributed is not None and not distributed.is_chief
    if overwrite and is_worker:
        raise ValueError(
            f"Worker {distributed.tuner_id!r} received overwrite=True; only the "
            "chief may delete a previous search (workers join the chief's)."
        )
    directory = os.fspath(directory)
    config = {
        "format": 1,
        "tuner": tuner,
        "max_trials": max_trials if tuner != "hyperband" else None,
        "epochs": epochs,
        "hyperband_factor": hyperband_factor if tuner == "hyperband" else None,
        "hyperband_iterations": (
            hyperband_iterations if tuner == "hyperband" else None
        ),
        "dataset": dataset_fingerprint(data),
        **hypermodel.to_dict(),
    }
    _prepare_directory(directory, config, overwrite=overwrite, is_worker=is_worker)

    with distributed_environment(distributed):
        kt_tuner = make_tuner(
            tuner,
            hypermodel,
            directory=directory,
            project_name=PROJECT_NAME,
            max_trials=max_trials,
            epochs=epochs,
            seed=seed,
            hyperband_factor=hyperband_factor,
            hyperband_iterations=hyperband_iterations,
        )
        resumed = 0
        if not is_worker:
            resumed = sum(
                t.status == "COMPLETED" for t in kt_tuner.oracle.trials.values()
            )
            if kt_tuner.oracle.trials:
                print(
                    f"Resuming the search in {directory}: {resumed} finished "
                    f"trial{'' if resumed == 1 else 's'} kept, not run again.",
                    flush=True,
                )
        if distributed is not None and distributed.is_chief:
            serve_oracle(kt_tuner, distributed)
        else:
            if is_worker:
                wait_for_chief(distributed)
            kt_tuner.search(
                data["train"],
                validation_data=data["valid"],
                epochs=epochs,
                verbose=verbose,
            )
        if is_worker:
            print(f"Worker {distributed.tuner_id}: no trials left.", flush=True)
            return None
        results = write_results(
            kt_tuner,
            directory,
            hypermodel=hypermodel,
            tuner_name=tuner,
            save_model=save_model,
        )
    results["resumed_trials"] = resumed
    return results


def dataset_fingerprint(data) -> dict:
    """Name, shapes and a hash of the train/valid labels: a restart on other
    data (another file or synthetic seed) is caught."""
    digest = hashlib.sha256()
    sizes = {}
    for split_name in ("train", "valid"):
        split = data[split_name]
        labels = np.ascontiguousarray(np.asarray(split.labels))
        digest.update(str((labels.shape, labels.dtype.str)).encode())
        digest.update(labels.tobytes())
        sizes[split_name] = int(split.num_samples)
    return {
        "name": getattr(data, "name", None),
        "sizes": sizes,
        "labels_sha256": digest.hexdigest()[:16],
    }


def _prepare_directory(
    directory: str, config: dict, *, overwrite: bool, is_worker: bool = False
) -> None:
    """Creates the directory, or checks that it holds the same search.

    A worker always checks: it joins the chief's search, whose settings may be
    written before its first trial starts.

    Raises:
        FileExistsError: the path is a file, or a directory that is not a search.
        ValueError: the directory holds a search with other settings.
    """
    config = json.loads(json.dumps(config))
    path = os.path.join(directory, SEARCH_CONFIG)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise FileExistsError(
            f"The search directory {directory!r} is a file; choose a directory."
        )
    entries = os.listdir(directory) if os.path.isdir(directory) else []
    foreign = [e for e in entries if not e.startswith(_TEMPORARY_PREFIX)]
    if foreign and SEARCH_CONFIG not in entries:
        raise FileExistsError(
            f"{directory!r} exists and is not a keras-umdf search (it has no "
            f"{SEARCH_CONFIG}); choose a new or empty directory. Nothing in it was "
            "changed."
        )
    if SEARCH_CONFIG in entries:
        with open(path, encoding="utf-8") as file:
            saved = json.load(file)
        if overwrite:
            print(f"Deleting the previous search in {directory} (overwrite).")
            shutil.rmtree(os.path.join(directory, PROJECT_NAME), ignore_errors=True)
            for name in (*RESULT_FILES, SEARCH_CONFIG):
                if os.path.exists(os.path.join(directory, name)):
                    os.remove(os.path.join(directory, name))
        elif not is_worker and not os.path.isdir(os.path.join(directory, PROJECT_NAME)):
            pass  # No trial ever started (an earlier call failed): nothing to keep.
        else:
            differences = _differences(saved, config)
            if differences:
                raise ValueError(
                    f"{directory!r} holds a search with other settings "
                    f"({'; '.join(differences)}). Restart it with its own settings "
                    "to resume, choose a new directory, or pass --overwrite "
                    "(overwrite=True) to delete it."
                )
            if saved != config:  # Only resumable changes: record them.
                _write_config(directory, config)
            return
    os.makedirs(directory, exist_ok=True)
    _write_config(directory, config)


def _write_config(directory: str, config: dict) -> None:
    # Written whole under a temporary name, then renamed: the chief and the
    # workers of a distributed search may create the directory at once.
    temporary = os.path.join(directory, f"{_TEMPORARY_PREFIX}.{os.getpid()}.tmp")
    with atomic_path(os.path.join(directory, SEARCH_CONFIG), temporary) as path:
        with open(path, "w", encoding="utf-8") as file:
            json.dump(config, file, indent=2)


def _differences(saved: dict, config: dict, prefix: str = "") -> list[str]:
    differences = []
    for key in sorted(set(saved) | set(config)):
        if not prefix and key in _RESUMABLE_CHANGES:
            continue
        old, new = saved.get(key), config.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            differences += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            differences.append(f"{prefix}{key}: saved {old!r}, now {new!r}")
    return differences
