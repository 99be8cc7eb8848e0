"""Command-line options of the commands that write a run: output, seeds, the
model variant and the evaluation protocol."""

from __future__ import annotations

import argparse
import sys

from keras_umdf.cli.argument_types import condition
from keras_umdf.cli.argument_types import finite_float
from keras_umdf.cli.argument_types import positive_int
from keras_umdf.experiments.training_settings import SELECT_EPOCH_CHOICES
from keras_umdf.experiments.variants import VARIANT_NAMES
from keras_umdf.experiments.variants import parse_variants
from keras_umdf.experiments.variants import variant_arguments
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import FRAME_DROP_RATES
from keras_umdf.modalities import parse_conditions

DISTRIBUTE_CHOICES = ("none", "mirrored", "multi_worker", "data_parallel")
VERBOSE_CHOICES = ("auto", "0", "1", "2")


def add_output_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """Adds --output and --overwrite."""
    group = parser.add_argument_group("output")
    group.add_argument(
        "--output",
        required=True,
        help=f"directory for {what}: a new or empty one, or an unfinished run of "
        "the same configuration, which is resumed",
    )
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished or different earlier run in --output (only the "
        "files keras-umdf writes are removed)",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds --train-samples, --select-epoch, --distribute and --verbose."""
    group = parser.add_argument_group("run")
    group.add_argument(
        "--train-samples",
        type=int,
        default=0,
        help="train on the first N training clips (0: all of them)",
    )
    group.add_argument(
        "--select-epoch",
        choices=SELECT_EPOCH_CHOICES,
        default="best",
        help="which epoch's weights to keep and test: best (default: the epoch "
        "with the best validation task metric, val_mae for regression, "
        "val_weighted_f1 or val_mean_f1 for classification, as MulT and MMSA "
        "do; the last epoch when the data has no validation split) or last",
    )
    group.add_argument(
        "--distribute",
        choices=DISTRIBUTE_CHOICES,
        default="none",
        help="data-parallel training: mirrored (TensorFlow, the GPUs of this "
        "machine), multi_worker (TensorFlow, TF_CONFIG), data_parallel (JAX)",
    )
    group.add_argument(
        "--verbose",
        choices=VERBOSE_CHOICES,
        default="auto",
        help="Keras progress output during training: auto (a progress bar), 0 "
        "(none), 1 (progress bar), 2 (one line per epoch)",
    )


def add_variant_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds --variant and the distillation weights."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--variant",
        default="UMDF",
        help=f"the full model or an ablation: one of {list(VARIANT_NAMES)} "
        "(or its slug, e.g. wo-l_fea)",
    )
    group.add_argument(
        "--lambda-fea",
        type=finite_float,
        default=None,
        help="weight of the feature distillation (default 1.0; 0 removes it)",
    )
    group.add_argument(
        "--lambda-logits",
        type=finite_float,
        default=None,
        help="weight of the logits distillation (default 1.0; 0 removes it)",
    )
    add_warmup_argument(group)
    add_supervise_logits_argument(group)
    add_normalization_argument(group)


def add_supervise_logits_argument(group) -> None:
    """Adds --no-supervise-logits (UMDF's `supervise_logits`, on by default)."""
    group.add_argument(
        "--no-supervise-logits",
        action="store_true",
        help="train f_y by the logits distillation alone, the objective as the "
        "paper writes it; by default f_y also learns the labels (design "
        "decision 9)",
    )


def add_normalization_argument(group) -> None:
    """Adds --no-normalize (UMDF's `normalize_inputs`, on in the commands)."""
    group.add_argument(
        "--no-normalize",
        action="store_true",
        help="feed the features as they are in the file; by default each "
        "modality is standardised per dimension with statistics of the "
        "training split's present frames, stored in the saved model",
    )


def add_warmup_argument(group) -> None:
    """Adds --distillation-warmup (UMDF's `distillation_warmup`)."""
    group.add_argument(
        "--distillation-warmup",
        type=int,
        default=None,
        help="training steps over which the distillation weights rise from 0 "
        "to their values (default 0: full weights from the first step, the "
        "paper's objective; an extension for short runs)",
    )


def variant_from_args(args: argparse.Namespace) -> tuple[str, dict]:
    """The variant's name and its `UMDF` arguments with the lambda overrides."""
    (name,) = parse_variants(args.variant)
    return name, {**variant_arguments(name), **distillation_weights(args)}


def distillation_weights(args: argparse.Namespace) -> dict:
    """The `UMDF` arguments given by --lambda-fea / --lambda-logits,
    --distillation-warmup, --no-supervise-logits and --no-normalize.

    Raises:
        ValueError: a negative (or NaN) weight or warm-up.
    """
    weights = {}
    if getattr(args, "no_normalize", False):
        weights["normalize_inputs"] = False
    if getattr(args, "no_supervise_logits", False):
        weights["supervise_logits"] = False
    warmup = getattr(args, "distillation_warmup", None)
    if warmup is not None:
        if warmup < 0:
            raise ValueError(f"--distillation-warmup must be >= 0; received {warmup}.")
        weights["distillation_warmup"] = warmup
    for key in ("lambda_fea", "lambda_logits"):
        value = getattr(args, key, None)
        if value is not None:
            if not value >= 0:
                flag = "--" + key.replace("_", "-")
                raise ValueError(f"{flag} must be >= 0; received {value}.")
            weights[key] = value
    return weights


def add_evaluation_arguments(
    parser: argparse.ArgumentParser, *, tsne: bool = True
) -> None:
    """Adds the protocol's options: conditions, curves, split, batch size and
    (with `tsne=True`) --tsne."""
    group = parser.add_argument_group("evaluation")
    group.add_argument(
        "--conditions",
        default="all",
        help="inter-modality test conditions, comma-separated letter codes "
        f"(e.g. 'l,la'), 'all' ({','.join(CONDITIONS)}) or 'none'",
    )
    group.add_argument(
        "--no-curves",
        action="store_true",
        help="skip the frame-drop curve (p = 0.0, 0.1, ..., 1.0)",
    )
    group.add_argument(
        "--curve-condition",
        type=condition,
        default="lav",
        help="the modalities present along the frame-drop curve (default lav)",
    )
    group.add_argument(
        "--split", default="test", help="the split to evaluate on (default test)"
    )
    group.add_argument(
        "--eval-batch-size",
        type=positive_int,
        default=128,
        help="evaluation batch size",
    )
    if not tsne:
        return
    group.add_argument(
        "--tsne",
        action="store_true",
        help="also draw the t-SNE of the joint representations under {l} at "
        "p = 0.5 (Figure 6; needs matplotlib)",
    )


def conditions_from_args(args: argparse.Namespace) -> tuple[str, ...]:
    """--conditions as condition codes (`keras_umdf.modalities.parse_conditions`).

    Raises:
        ValueError: an unknown condition, named after "--conditions: ".
    """
    try:
        return parse_conditions(args.conditions)
    except ValueError as error:
        raise ValueError(f"--conditions: {error}") from None


def curve_rates(args: argparse.Namespace) -> tuple[float, ...] | None:
    """The frame-drop rates of the curve: the paper's, or None with --no-curves."""
    return None if args.no_curves else FRAME_DROP_RATES


def check_something_to_evaluate(conditions, args: argparse.Namespace) -> None:
    """Raises a ValueError when --conditions none comes with --no-curves."""
    if not conditions and args.no_curves:
        raise ValueError(
            "Nothing to evaluate: --conditions none with --no-curves; ask for "
            "conditions or the curve."
        )


def note_clamped_train_samples(args: argparse.Namespace, data, command: str) -> None:
    """Says on stderr when --train-samples asks for more clips than the
    training split has (all of them are used)."""
    available = data["train"].num_samples if "train" in data.splits else None
    requested = getattr(args, "train_samples", 0)
    if available is not None and requested > available:
        print(
            f"keras-umdf {command}: warning: --train-samples {requested} is more "
            f"than the {available} training clips of {data.name}; training on all "
            f"{available}.",
            file=sys.stderr,
        )


def check_positive(flag: str, value: int) -> int:
    """Raises a ValueError naming the flag when `value` is not a positive int."""
    if value < 1:
        raise ValueError(f"{flag} must be >= 1; received {value}.")
    return value


def verbosity(args: argparse.Namespace):
    """--verbose as `fit` takes it."""
    return "auto" if args.verbose == "auto" else int(args.verbose)


def data_config(args: argparse.Namespace) -> dict:
    """How --dataset named the data, recorded in a run's configuration."""
    return {
        "dataset": args.dataset,
        "format": args.format,
        "data_seed": args.data_seed,
        "scale": args.scale,
    }
