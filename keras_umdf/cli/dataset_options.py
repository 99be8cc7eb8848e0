"""Command-line options shared by the commands that read a dataset and train.

`keras-umdf train`, `evaluate`, `reproduce` and `tune` all name a dataset the same
way and start from the paper's per-dataset settings (`keras_umdf.presets`).
"""

from __future__ import annotations

import argparse
import math
import os

from keras_umdf.cli.argument_types import finite_float
from keras_umdf.cli.load_progress import reporting_load
from keras_umdf.experiments.training_settings import SETTING_KEYS
from keras_umdf.experiments.training_settings import preset_settings
from keras_umdf.modalities import DEFAULT_P_MAX
from keras_umdf.presets import PRESET_NAMES
from keras_umdf.presets import WARMUP_STEPS
from keras_umdf.presets import infer_preset_name

DATASET_FORMATS = ("mult", "mmsa", "pickle", "csd", "tfds", "synthetic", "features")


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds --dataset, --format, --data-seed and --scale."""
    group = parser.add_argument_group("dataset")
    group.add_argument(
        "--dataset",
        required=True,
        help="a built-in synthetic dataset (mosi, mosei, iemocap), a MulT or MMSA "
        "pickle, a TFDS name (cmu_mosi, cmu_mosei), a folder `keras-umdf "
        "features` wrote, or for .csd files "
        "'text=T.csd,audio=A.csd,vision=V.csd,labels=L.csd'",
    )
    group.add_argument(
        "--format",
        choices=DATASET_FORMATS,
        default=None,
        help="the file format; inferred from --dataset when left out",
    )
    group.add_argument(
        "--data-seed",
        type=int,
        default=0,
        help="seed of a synthetic dataset (ignored for files)",
    )
    group.add_argument(
        "--scale",
        type=finite_float,
        default=1.0,
        help="fraction of the real split sizes for a synthetic dataset",
    )


def load_dataset_from_args(args: argparse.Namespace, *, pseudo_text: bool = False):
    """Loads the `MultimodalDataset` that --dataset and --format name.

    With `pseudo_text=True` a synthetic dataset gets a pseudo-text stream
    (`keras_umdf.data.synthetic(..., pseudo_text=True)`); files keep what they
    hold. Reading a file (or folder) is reported on stderr
    (`keras_umdf.cli.load_progress`).

    Raises:
        FileNotFoundError: a named file does not exist.
        ValueError: the format is unknown or cannot be inferred.
    """
    from keras_umdf.data import load_dataset
    from keras_umdf.data.readers import infer_format

    source = parse_dataset_source(args.dataset, args.format)
    format = args.format or infer_format(source)
    if format == "synthetic":
        if not 0.0 < args.scale <= 1.0:
            raise ValueError(f"--scale must be in (0, 1]; received {args.scale}.")
        extra = {"pseudo_text": True} if pseudo_text else {}
        return load_dataset(source, format=format, seed=args.data_seed,
                            scale=args.scale, **extra)  # fmt: skip
    if not (isinstance(source, str) and os.path.exists(source)):
        return load_dataset(source, format=format)
    with reporting_load(source) as report:
        data = load_dataset(source, format=format)
        report(data)
    return data


def parse_dataset_source(dataset: str, format: str | None):
    """Turns --dataset into what `load_dataset` takes.

    "text=T.csd,audio=A.csd,..." becomes a dict of paths; a path that does not
    exist is reported here, with its name, rather than deep inside a reader.
    """
    from keras_umdf.data.readers import SYNTHETIC_NAMES
    from keras_umdf.data.readers import TFDS_NAMES

    if "=" in dataset:
        paths = {}
        for item in dataset.split(","):
            key, sep, path = item.partition("=")
            if not sep or not key or not path:
                raise ValueError(
                    f"--dataset {dataset!r}: each item of a .csd list is "
                    "'modality=path' (keys text, audio, vision, labels)."
                )
            paths[key.strip()] = _existing(path.strip())
        return paths
    name = dataset.lower()
    if format == "tfds" or name.split("/")[0] in TFDS_NAMES:
        return dataset
    if name in SYNTHETIC_NAMES:
        return name
    return _existing(dataset)


def _existing(path: str) -> str:
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"--dataset: no file {path!r}; pass an existing MulT/MMSA pickle, .csd "
            "files, or a synthetic name (mosi, mosei, iemocap)."
        )
    return path


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds --preset and the overrides of the paper's training settings."""
    group = parser.add_argument_group("training (the paper's values by default)")
    group.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        default=None,
        help="which dataset's published settings to start from; inferred from "
        "the dataset's name (mosi when nothing matches)",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="training clips per step (the preset's value by default)",
    )
    group.add_argument(
        "--learning-rate",
        type=finite_float,
        default=None,
        help="Adam's learning rate after the warm-up (the preset's value by default)",
    )
    group.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="passes over the training clips (the preset's value by default)",
    )
    group.add_argument(
        "--num-heads",
        type=int,
        default=None,
        help="attention heads of every transformer; must divide --hidden-dim "
        "(the preset's value by default)",
    )
    group.add_argument(
        "--hidden-dim",
        type=int,
        default=None,
        help="the width d of the model, a multiple of --num-heads (the preset's "
        "value by default)",
    )
    group.add_argument(
        "--num-layers",
        type=int,
        default=None,
        help="MCIM layers D (the preset's value by default)",
    )
    group.add_argument(
        "--lr-warmup-steps",
        dest="warmup_steps",
        type=int,
        default=None,
        help="optimizer updates over which the learning rate rises linearly to "
        f"its value (default {WARMUP_STEPS}; 0: none, the paper's plain Adam)",
    )
    group.add_argument(
        "--frame-drop-max",
        dest="p_max",
        type=float,
        default=None,
        help="the largest frame-drop rate of the training views: each view drops "
        f"frames at a rate p ~ U[0, this] (default {DEFAULT_P_MAX})",
    )


def training_settings(args: argparse.Namespace, data=None) -> dict:
    """The paper's settings for the dataset with the user's overrides applied.

    Returns:
        A dict with "preset", "batch_size", "learning_rate", "epochs",
        "num_heads", "hidden_dim", "num_layers" and "warmup_steps", and
        "p_max" when --frame-drop-max gives another range than the default.

    Raises:
        ValueError: an override is not positive (the warm-up: negative; the
            frame-drop rate: outside [0, 1]).
    """
    name = args.preset or infer_preset_name(
        getattr(data, "name", None), getattr(args, "dataset", None)
    )
    settings = preset_settings(name or "mosi")
    for key in SETTING_KEYS:
        value = getattr(args, key, None)
        if value is None:
            continue
        if not (value > 0 and math.isfinite(value)):
            flag = "--" + key.replace("_", "-")
            raise ValueError(f"{flag} must be > 0 and finite; received {value}.")
        settings[key] = value
    warmup = getattr(args, "warmup_steps", None)
    if warmup is not None and warmup < 0:
        raise ValueError(
            f"--lr-warmup-steps must be >= 0 (0: no warm-up); received {warmup}."
        )
    if warmup is not None:
        settings["warmup_steps"] = warmup
    p_max = getattr(args, "p_max", None)
    if p_max is not None and not 0.0 <= p_max <= 1.0:
        raise ValueError(
            f"--frame-drop-max must be a rate in [0, 1]; received {p_max}."
        )
    if p_max is not None and p_max != DEFAULT_P_MAX:
        # Only another range than the default: a run recorded before the option
        # existed, or without it, resumes with or without --frame-drop-max 0.5.
        settings["p_max"] = p_max
    return settings
