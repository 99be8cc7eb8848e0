"""`keras-umdf train`: train one model, then evaluate it with the paper's protocol."""

from __future__ import annotations

import argparse
import os

from keras_umdf.cli.dataset_options import add_dataset_arguments
from keras_umdf.cli.dataset_options import add_training_arguments
from keras_umdf.cli.run_options import add_evaluation_arguments
from keras_umdf.cli.run_options import add_output_arguments
from keras_umdf.cli.run_options import add_run_arguments
from keras_umdf.cli.run_options import add_variant_arguments

DESCRIPTION = """\
Train UMDF (or an ablation) on a dataset with the paper's settings for it (batch
size, learning rate, epochs, heads; override any), then test it under the seven
modality conditions and along the frame-drop curve.

The model kept is the epoch with the best validation task metric (val_mae for
regression, the weighted F1 for classification; --select-epoch last keeps the
last epoch); run.json and the last progress line name it. The tables end with
the scores of predicting the mean training label for every clip, and a model
that predicts nearly a constant, or no better than that, gets a warning.

Writes into --output: model.keras, history.json / history.csv, logs/ (TensorBoard),
results.json / results.md (Table 1 layout), figures/frame_drop.png (with
matplotlib), run.json (configuration, versions, status, kept epoch). The training
state is saved after every epoch: if the run is interrupted, the same command
resumes it where it stopped. An existing run is never replaced without --overwrite.
"""


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "train",
        help="train a model and write it with its history and evaluation report",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dataset_arguments(parser)
    add_training_arguments(parser)
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of weights, shuffles and masks"
    )
    add_variant_arguments(parser)
    add_run_arguments(parser)
    add_evaluation_arguments(parser)
    add_output_arguments(parser, "the model, its history and its report")
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_umdf.cli.dataset_options import load_dataset_from_args
    from keras_umdf.cli.dataset_options import training_settings
    from keras_umdf.cli.run_options import check_something_to_evaluate
    from keras_umdf.cli.run_options import conditions_from_args
    from keras_umdf.cli.run_options import curve_rates
    from keras_umdf.cli.run_options import data_config
    from keras_umdf.cli.run_options import note_clamped_train_samples
    from keras_umdf.cli.run_options import variant_from_args
    from keras_umdf.cli.run_options import verbosity
    from keras_umdf.experiments.evaluation_run import evaluate_and_report
    from keras_umdf.experiments.training_run import train_model
    from keras_umdf.experiments.training_settings import training_split

    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; received {args.seed}.")
    if args.train_samples < 0:
        raise ValueError(
            f"--train-samples must be >= 0 (0: all); received {args.train_samples}."
        )
    conditions = conditions_from_args(args)
    check_something_to_evaluate(conditions, args)
    variant, model_arguments = variant_from_args(args)
    data = load_dataset_from_args(args)
    if args.split not in data.splits:
        raise ValueError(
            f"--split {args.split!r}: the dataset has splits {sorted(data.splits)}."
        )
    settings = training_settings(args, data)
    note_clamped_train_samples(args, data, "train")
    print(
        f"{variant} on {data.name}: "
        + ", ".join(f"{k} {v}" for k, v in settings.items())
        + f", seed {args.seed}"
    )
    # A run whose training finished but whose report was not written (killed
    # while evaluating) is evaluated; one with a report is a finished run.
    has_report = os.path.exists(os.path.join(args.output, "results.json"))
    result = train_model(
        data,
        args.output,
        settings=settings,
        seed=args.seed,
        model_arguments=model_arguments,
        train_samples=args.train_samples,
        overwrite=args.overwrite,
        reuse_finished=not has_report and not args.overwrite,
        verbose=verbosity(args),
        distribute=args.distribute,
        select_epoch=args.select_epoch,
        data_config=data_config(args),
    )
    evaluate_and_report(
        result.model,
        data,
        args.output,
        run_name=variant,
        seed=args.seed,
        conditions=conditions,
        split=args.split,
        rates=curve_rates(args),
        curve_condition=args.curve_condition,
        batch_size=args.eval_batch_size,
        tsne=args.tsne,
        config={
            "training": settings,
            "variant": variant,
            **model_arguments,
            "select_epoch": args.select_epoch,
            "kept_epoch": result.kept_epoch.to_dict() if result.kept_epoch else None,
        },
        baseline_split=training_split(data, args.train_samples),
    )
    return 0
