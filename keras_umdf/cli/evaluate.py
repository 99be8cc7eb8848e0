"""`keras-umdf evaluate`: a saved model through the paper's test protocol."""

from __future__ import annotations

import argparse

from keras_umdf.cli.dataset_options import add_dataset_arguments
from keras_umdf.cli.run_options import add_evaluation_arguments
from keras_umdf.cli.run_options import add_output_arguments

DESCRIPTION = """\
Test a saved .keras model on a dataset: the seven inter-modality conditions
{l} ... {l,a,v} and their Avg. (Table 1, or Table 2 for IEMOCAP) and the frame-drop
curve p = 0.0 ... 1.0 (Figures 3-4), or only the conditions you choose
(--conditions l,la --no-curves). Writes results.json, results.md and
figures/frame_drop.png (and figures/tsne.png with --tsne) into --output.

Every table ends with the scores of predicting the mean training label (the
majority class for classification) for every clip, taken from the dataset's
train split (another split, named in the table, when it has none); a model that
predicts nearly a constant or no better than that gets a warning on stderr.
"""


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="test a saved model under the paper's conditions and frame-drop rates",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="the .keras model file")
    add_dataset_arguments(parser)
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the evaluation masks"
    )
    add_evaluation_arguments(parser)
    add_output_arguments(parser, "the report")
    parser.set_defaults(run=run)


def run(args) -> int:
    from keras_umdf.cli.dataset_options import load_dataset_from_args
    from keras_umdf.cli.run_options import check_something_to_evaluate
    from keras_umdf.cli.run_options import conditions_from_args
    from keras_umdf.cli.run_options import curve_rates
    from keras_umdf.cli.run_options import data_config
    from keras_umdf.experiments.evaluation_run import evaluate_saved_model
    from keras_umdf.experiments.model_file import check_model_fits_data
    from keras_umdf.experiments.model_file import load_umdf_model

    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; received {args.seed}.")
    conditions = conditions_from_args(args)
    check_something_to_evaluate(conditions, args)
    model = load_umdf_model(args.model)
    data = load_dataset_from_args(args)
    check_model_fits_data(model, data)
    if args.split not in data.splits:
        raise ValueError(
            f"--split {args.split!r}: the dataset has splits {sorted(data.splits)}."
        )
    evaluate_saved_model(
        model,
        data,
        args.output,
        model_path=args.model,
        data_config=data_config(args),
        seed=args.seed,
        conditions=conditions,
        split=args.split,
        rates=curve_rates(args),
        curve_condition=args.curve_condition,
        batch_size=args.eval_batch_size,
        tsne=args.tsne,
        overwrite=args.overwrite,
    )
    return 0
