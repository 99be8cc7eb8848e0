"""The demo: UMDF against plain training on synthetic MOSI, in a few minutes."""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Callable

DEMO_VARIANTS = ("UMDF", "w/o distillation")
"""The full model and the same network trained without self-distillation."""

DEMO_SETTINGS = {
    "preset": "mosi",
    "batch_size": 32,
    "learning_rate": 1e-3,
    "epochs": 3,
    "num_heads": 4,
    "hidden_dim": 40,
    "num_layers": 2,
}
"""Sized so that both models train and test in minutes on 2 CPU cores: the
paper's width d = 40, but 2 MCIM layers instead of 4 and 4 attention heads
instead of 10, batch 32, 3 epochs on
512 of the 1284 clips. The paper's MOSI run is `keras-umdf reproduce --dataset
mosi` (4 layers, 10 heads, batch 128, 100 epochs, all clips, five seeds)."""

DEMO_TRAIN_SAMPLES = 512


def demo_model_arguments(settings: dict, train_clips: int) -> dict:
    """The `UMDF` arguments of the demo's models: a distillation warm-up over
    the whole training (`distillation_warmup` = its number of steps).

    With full weights from the first step, the short demo sometimes left UMDF
    predicting the mean label (the untrained `f_y` pulled the views together
    before the task had shaped them); the README's demo section has the
    measurements.
    """
    steps_per_epoch = math.ceil(train_clips / settings["batch_size"])
    return {"distillation_warmup": settings["epochs"] * steps_per_epoch}


def run_demo(
    directory=None,
    *,
    settings: dict | None = None,
    seed: int = 0,
    train_samples: int = DEMO_TRAIN_SAMPLES,
    variants=DEMO_VARIANTS,
    model_arguments=None,
    overwrite: bool = False,
    verbose=2,
    progress: Callable[[str], None] | None = print,
) -> dict:
    """Trains the demo's models on synthetic MOSI and tests them (Table 1).

    Each variant is trained with the same seed on the first `train_samples`
    training clips and tested under the seven conditions (no frame-drop curve,
    to stay short). To stay short too, it runs no validation and keeps each
    model's last epoch. The run is a `reproduce` run with one seed and two
    variants, so an interrupted demo with a `directory` resumes.

    Args:
        directory: where to keep the models and results; None uses a temporary
            directory that is removed afterwards (the progress lines then call
            it "<temporary directory>", since its paths will not exist).
        settings: overrides of `DEMO_SETTINGS`.
        seed: seed of the synthetic data, the weights and the masks.
        train_samples: training clips used (0: all 1284).
        variants: the variants to train (default the full model and plain
            training).
        model_arguments: `UMDF` arguments shared by the variants (default
            `demo_model_arguments`: the distillation weights ramp up over the
            whole training).
        overwrite: replace an earlier run in `directory`.
        verbose: `fit`'s verbosity.
        progress: receives the progress lines.

    Returns:
        A dict with "document" (the results document), "tables" (variant ->
        condition -> metrics), "baseline" (the document's record of always
        predicting the mean training label, `mean_baseline`) and
        "mean_baseline" (its test metrics).

    Example:

    ```python
    demo = run_demo(settings={"epochs": 1})
    demo["tables"]["UMDF"]["lav"]["mae"], demo["mean_baseline"]["mae"]
    ```
    """
    # Imported here: the command line reads this module's settings for its
    # help without importing Keras.
    from keras_umdf.data import synthetic
    from keras_umdf.experiments.reproduction import reproduce

    settings = {**DEMO_SETTINGS, **dict(settings or {})}
    data = synthetic("mosi", seed=seed)
    if model_arguments is None:
        train_clips = len(data["train"].labels[: train_samples or None])
        model_arguments = demo_model_arguments(settings, train_clips)
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = stack.enter_context(tempfile.TemporaryDirectory())
            progress = _hiding(directory, progress)
        document = reproduce(
            data,
            directory,
            settings=settings,
            seeds=(seed,),
            variants=variants,
            model_arguments=model_arguments,
            rates=None,
            eval_batch_size=128,
            train_samples=train_samples,
            overwrite=overwrite,
            figures=False,
            validate=False,
            select_epoch="last",
            verbose=verbose,
            data_config={"dataset": "mosi", "format": "synthetic", "data_seed": seed},
            progress=progress,
        )
    tables = {
        name: run["summary"]["conditions"] for name, run in document["runs"].items()
    }
    return {
        "document": document,
        "tables": tables,
        "baseline": document["baseline"],
        "mean_baseline": document["baseline"]["metrics"],
    }


def _hiding(directory: str, progress: Callable[[str], None] | None):
    """`progress` with `directory`'s path shown as "<temporary directory>"."""
    if progress is None:
        return None
    return lambda line: progress(line.replace(directory, TEMPORARY))


TEMPORARY = "<temporary directory>"
"""How the progress lines name the demo's directory when it is not kept."""
