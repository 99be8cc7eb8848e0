"""One training run on disk: safe to interrupt, resumed exactly, never overwritten.

`train_model` follows a batch from the data to a saved model:

1. the output directory is created, resumed or refused (`RunDirectory`);
2. `UMDF.for_dataset` builds the model from the settings (the paper's
   per-dataset values with the user's overrides), compiled with Adam and the
   task's Keras metrics; a resumed run restores the weights, the optimizer and
   the random states of its last finished epoch (`restore_training_state`);
3. `masked_batches(training=True, first_epoch=k)` (the tf.data pipeline, or
   `MaskedPyDataset` without TensorFlow) draws two masked views per clip,
   epoch k's draws for the k-th epoch whether or not the run was interrupted;
4. `fit` runs with a NaN guard, the epoch history on disk, the weights of the
   best epoch so far by the validation task metric (`BestEpochCheckpoint`),
   the per-epoch training state and `checkpoint.keras`, and a TensorBoard log;
5. the best epoch's weights are restored (`select_epoch="best"`, as MulT and
   MMSA test the epoch of the best validation score; "last" keeps the last
   epoch), `model.keras` is written and the run marked finished, with the kept
   epoch in `run.json`;
6. the kept model's validation predictions are checked for a collapse (nearly
   constant, or no better than predicting the training mean): a
   `ModelCollapseWarning` says so.

The directory then holds: `run.json` (configuration, status, versions, the
kept epoch), `model.keras`, `history.json` / `history.csv`, `logs/`
(TensorBoard). While it runs it also holds `checkpoint.keras` (the model of the
last finished epoch) and `training_state/` (what a resume needs, the best
epoch's weights in `training_state/best/` among it); both go when the run
finishes, since `model.keras` then holds the kept epoch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
import warnings
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence

import keras

from keras_umdf.argument_validation import check_int
from keras_umdf.data.atomic_file import atomic_path
from keras_umdf.data.batches import masked_batches
from keras_umdf.evaluation.collapse import check_model_for_collapse
from keras_umdf.evaluation.environment import environment_info
from keras_umdf.evaluation.mean_baseline import mean_baseline
from keras_umdf.evaluation.protocol import evaluation_batches
from keras_umdf.evaluation.task_metrics import selection_metric
from keras_umdf.evaluation.task_metrics import task_kind
from keras_umdf.experiments.best_epoch import BestEpochCheckpoint
from keras_umdf.experiments.best_epoch import KeptEpoch
from keras_umdf.experiments.best_epoch import check_select_epoch
from keras_umdf.experiments.best_epoch import kept_epoch
from keras_umdf.experiments.history_file import HistoryFile
from keras_umdf.experiments.history_file import read_history
from keras_umdf.experiments.model_building import build_model
from keras_umdf.experiments.model_file import load_umdf_model
from keras_umdf.experiments.nan_guard import NaNGuard
from keras_umdf.experiments.nan_guard import TrainingDiverged
from keras_umdf.experiments.run_directory import FINISHED
from keras_umdf.experiments.run_directory import RunDirectory
from keras_umdf.experiments.training_settings import SETTING_KEYS
from keras_umdf.experiments.training_settings import default_settings
from keras_umdf.experiments.training_settings import training_p_max
from keras_umdf.experiments.training_settings import training_split
from keras_umdf.experiments.training_state import TrainingStateCheckpoint
from keras_umdf.experiments.training_state import restore_training_state
from keras_umdf.experiments.training_state import saved_extra_state

ONLY_F_Y_WITHOUT_GRADIENTS = (
    r"Gradients do not exist for variables \[('[^']*/f_y/[^']*'(, )?)+\] when"
)
"""Keras's warning when the logits layer f_y alone gets no gradient: expected
without the logits distillation (`lambda_logits=0`), so `train_model` hides it."""

RECORDED_DEFAULTS = {"select_epoch": "last"}
"""Configuration keys that runs recorded before they existed lack, with the
value those runs had: they kept the last epoch."""


@dataclasses.dataclass
class TrainingResult:
    """What `train_model` returns.

    Attributes:
        model: the trained model.
        directory: the run's output directory.
        history: one dict per finished epoch (as `history.json`).
        initial_epoch: epochs already finished before this call (0 for a new
            run, k when resuming after k epochs, all of them when the run had
            finished).
        status: "new", "resume" or "finished" (nothing trained).
        kept_epoch: which epoch's weights `model` holds and why (`KeptEpoch`:
            the 1-based epoch, the rule, the metric and its value); None for a
            finished run recorded without it.
    """

    model: keras.Model
    directory: str
    history: list
    initial_epoch: int
    status: str
    kept_epoch: KeptEpoch | None = None


def train_model(
    data,
    directory,
    *,
    settings: Mapping | None = None,
    seed: int = 0,
    model_arguments: Mapping | None = None,
    train_samples: int = 0,
    overwrite: bool = False,
    reuse_finished: bool = False,
    verbose="auto",
    distribute: str | None = None,
    tensorboard: bool = True,
    validate: bool = True,
    select_epoch: str = "best",
    data_config: Mapping | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    progress: Callable[[str], None] | None = print,
) -> TrainingResult:
    """Trains a `UMDF` on `data["train"]` into `directory`, resuming if asked.

    Args:
        data: a `MultimodalDataset` with "train" (and "valid", used for the
            validation metrics in the logs, if present).
        directory: the output directory (see `RunDirectory` for its rules).
        settings: batch_size, learning_rate, epochs, num_heads, hidden_dim,
            num_layers (and optionally warmup_steps, the learning-rate
            warm-up, and p_max, the largest frame-drop rate of the training
            views); default the paper's for the dataset with the warm-up of
            `keras_umdf.optimizers.WARMUP_STEPS` and p_max
            `keras_umdf.modalities.DEFAULT_P_MAX` (`default_settings`).
        seed: seed of the weights, the shuffles and the training masks.
        model_arguments: further `UMDF` arguments, e.g. an ablation's
            `{"lambda_fea": 0.0}`.
        train_samples: train on the first N training clips (0: all).
        overwrite: replace an earlier run in `directory`.
        reuse_finished: load and return a finished run of the same
            configuration instead of refusing it.
        verbose: `fit`'s verbosity ("auto": a progress bar).
        distribute: None/"none", "mirrored", "multi_worker" or
            "data_parallel" (`keras_umdf.distribution.distribution_scope`).
        tensorboard: write a TensorBoard log to `logs/` (needs TensorFlow).
        validate: report validation metrics on `data["valid"]` every epoch.
        select_epoch: "best" keeps the weights of the epoch with the best
            validation task metric (`selection_metric`: val_mae for
            regression, val_weighted_f1 for classification, val_mean_f1 for
            multi-label); without a validation split it keeps the last epoch
            and says so. "last" keeps the last epoch. Recorded in the
            configuration, so a resume must use the same value.
        data_config: how the data was named (e.g. the command line's
            --dataset), recorded in the configuration; default the dataset's
            name and shapes.
        callbacks: further Keras callbacks for `fit` (they run after the NaN
            guard, the history and the checkpoint).
        progress: receives a line when a run starts, resumes or finishes.

    Returns:
        A `TrainingResult`.

    Raises:
        FileExistsError, ValueError: the directory cannot be used (see
            `RunDirectory.prepare`); ValueError: `select_epoch` is neither
            "best" nor "last".
        TrainingDiverged: the loss became NaN or inf; the run is marked failed
            and its last good checkpoint kept.

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosi", scale=0.1)
    result = train_model(data, "runs/mosi", settings={**default_settings(data),
                                                      "epochs": 3})
    result.model.predict(...)
    ```
    """
    say = progress or (lambda line: None)
    settings = {**default_settings(data), **dict(settings or {})}
    missing = [k for k in SETTING_KEYS if k not in settings]
    if missing:
        raise ValueError(f"settings lack {missing}; received {dict(settings)}.")
    p_max = training_p_max(settings)
    train_samples = check_int("train_samples (0: all)", train_samples, minimum=0)
    select_epoch = check_select_epoch(select_epoch)
    distribute = None if distribute in (None, "none") else distribute
    train_split = training_split(data, train_samples)
    config = {
        "data": dict(data_config or _describe_data(data)),
        "train_samples": train_split.num_samples,
        "settings": dict(settings),
        "seed": int(seed),
        "model_arguments": dict(model_arguments or {}),
        "distribute": distribute or "none",
        "select_epoch": select_epoch,
    }
    run = RunDirectory(directory, "train")
    history_path = run.file("history.json")
    keras.utils.set_random_seed(seed)
    scope = contextlib.nullcontext()
    if distribute:
        from keras_umdf.distribution import distribution_scope

        scope = distribution_scope(distribute)
    state_dir = run.file("training_state")
    checkpoint = run.file("checkpoint.keras")
    epochs = int(settings["epochs"])
    kind = task_kind(data)
    label_names = data.label_names if kind == "multi_label" else None
    with contextlib.ExitStack() as in_scope:
        in_scope.enter_context(scope)
        # Built first: settings the model refuses (a width that the heads do
        # not divide) leave no directory behind.
        model = build_model(data, settings, model_arguments, train_split)
        status = run.prepare(
            config,
            overwrite=overwrite,
            reuse_finished=reuse_finished,
            recorded_defaults=RECORDED_DEFAULTS,
        )
        if status == FINISHED:
            in_scope.close()
            # A run killed after it was marked finished may still hold them.
            _remove_resume_files(state_dir, checkpoint)
            model = load_umdf_model(run.file("model.keras"))
            history = read_history(history_path)
            kept = KeptEpoch.from_dict((run.read() or {}).get("kept_epoch"))
            say(f"{run.path}: finished run found, not trained again")
            return TrainingResult(model, run.path, history, len(history), status, kept)
        run.update(environment=environment_info())
        first_epoch = restore_training_state(model, state_dir)
        if first_epoch:
            say(
                f"{run.path}: resuming after epoch {first_epoch} of {epochs} "
                "(weights, optimizer and random state restored)"
            )
        else:
            say(
                f"{run.path}: training {epochs} epochs on "
                f"{train_split.num_samples} clips (seed {seed})"
            )
        drop_remainder = bool(distribute)
        train = masked_batches(
            train_split,
            training=True,
            batch_size=settings["batch_size"],
            seed=seed,
            first_epoch=first_epoch,
            drop_remainder=drop_remainder,
            p_max=p_max,
        )
        valid = None
        if validate and "valid" in data.splits:
            valid = evaluation_batches(
                data["valid"], batch_size=settings["batch_size"], seed=seed
            )
        best, note = None, None
        if select_epoch == "best" and valid is None:
            note = "no validation split, so the last epoch is kept"
            say(f"{run.path}: {note} (select_epoch 'best' needs one)")
        elif select_epoch == "best":
            metric, mode = selection_metric(kind)
            best = BestEpochCheckpoint(
                os.path.join(state_dir, "best"), monitor=f"val_{metric}", mode=mode
            )
            best.restore_state(saved_extra_state(state_dir).get("best_epoch"))
        fit_callbacks = [
            NaNGuard(checkpoint),
            HistoryFile(history_path, initial_epoch=first_epoch),
            # Before the training state, which saves the best epoch so far.
            *([best] if best else []),
            TrainingStateCheckpoint(
                state_dir,
                checkpoint,
                resume=first_epoch > 0,
                extra_state=(lambda: {"best_epoch": best.state()}) if best else None,
            ),
            *callbacks,
        ]
        if tensorboard:
            fit_callbacks += _tensorboard(run.file("logs"), say)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # Without the logits distillation the logits layer f_y gets no
                # gradient, as intended: not a problem to warn about.
                warnings.filterwarnings(
                    "ignore", message=ONLY_F_Y_WITHOUT_GRADIENTS, category=UserWarning
                )
                if first_epoch < epochs:
                    model.fit(
                        train,
                        validation_data=valid,
                        epochs=epochs,
                        initial_epoch=first_epoch,
                        callbacks=fit_callbacks,
                        verbose=verbose,
                        shuffle=False,
                    )
        except (TrainingDiverged, OSError) as error:
            # A loss that became NaN, or a checkpoint that could not be
            # written (a full disk): the run is recorded as failed.
            _mark_failed(run, error)
            raise
        kept = kept_epoch(best, epochs, note)
        if kept.rule == "best" and kept.epoch != epochs:
            best.restore_best_weights(model)
        if kept.note and best is not None:
            say(f"{run.path}: {kept.note}")
    elapsed = time.perf_counter() - start
    model_path = run.file("model.keras")
    try:
        with atomic_path(model_path) as temporary:
            model.save(temporary)
    except OSError as error:
        _mark_failed(run, error)
        raise
    history = read_history(history_path)
    run.mark_finished(epochs_trained=len(history), kept_epoch=kept.to_dict())
    _remove_resume_files(state_dir, checkpoint)
    say(
        f"{run.path}: trained epochs {first_epoch + 1}-{epochs} in {elapsed:.0f} s; "
        f"{kept.describe()}; saved {model_path}"
        if first_epoch < epochs
        else f"{run.path}: all {epochs} epochs were done; {kept.describe()}; "
        f"saved {model_path}"
    )
    if valid is not None:
        baseline = mean_baseline(
            train_split.labels, data["valid"].labels, kind, label_names=label_names
        )
        message = check_model_for_collapse(
            model,
            data["valid"],
            baseline["metrics"],
            split_name="validation",
            subject=f"the model of {run.path}",
            batch_size=settings["batch_size"],
            seed=seed,
            label_names=label_names,
        )
        if message:
            run.update(collapse_warning=message)
    return TrainingResult(model, run.path, history, first_epoch, status, kept)


def _mark_failed(run: RunDirectory, error: BaseException) -> None:
    """Records the failure in `run.json`, unless that cannot be written either
    (the disk is full): the error being raised says what happened."""
    with contextlib.suppress(OSError):
        run.mark_failed(str(error))


def _describe_data(data) -> dict:
    return {
        "name": getattr(data, "name", "dataset"),
        "task": data.task,
        "modality_dims": dict(data.modality_dims),
        "sizes": {name: split.num_samples for name, split in data.splits.items()},
    }


def _tensorboard(log_dir: str, say) -> list:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        say("TensorFlow is not installed: no TensorBoard log")
        return []
    return [
        keras.callbacks.TensorBoard(
            log_dir=log_dir, write_graph=False, update_freq="epoch", profile_batch=0
        )
    ]


def _remove_resume_files(state_dir: str, checkpoint: str) -> None:
    """Removes what only an unfinished run needs: the training state and the
    last epoch's checkpoint."""
    shutil.rmtree(state_dir, ignore_errors=True)
    if os.path.exists(checkpoint):
        os.remove(checkpoint)
