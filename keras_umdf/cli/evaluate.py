"""`keras-umdf evaluate`: a saved model through the paper's test protocol."""

from __future__ import annotations

import argparse
import os

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
    from keras_umdf.cli.run_options import data_config
    from keras_umdf.cli.run_options import parse_conditions
    from keras_umdf.experiments.model_file import check_model_fits_data
    from keras_umdf.experiments.model_file import load_umdf_model
    from keras_umdf.experiments.run_directory import RunDirectory

    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; received {args.seed}.")
    conditions = parse_conditions(args.conditions)
    model = load_umdf_model(args.model)
    data = load_dataset_from_args(args)
    check_model_fits_data(model, data)
    if args.split not in data.splits:
        raise ValueError(
            f"--split {args.split!r}: the dataset has splits {sorted(data.splits)}."
        )
    config = {
        "model": os.path.abspath(args.model),
        "data": data_config(args),
        "conditions": list(conditions),
        "curves": not args.no_curves,
        "curve_condition": args.curve_condition,
        "split": args.split,
        "seed": args.seed,
        "tsne": args.tsne,
    }
    run_dir = RunDirectory(args.output, "evaluate")
    run_dir.prepare(config, overwrite=args.overwrite)
    baseline_source = baseline_split_name(data, args.split)
    evaluate_and_report(
        model,
        data,
        args.output,
        run_name=os.path.splitext(os.path.basename(args.model))[0],
        seed=args.seed,
        conditions=conditions,
        args=args,
        config={"model": config["model"], "model_config": _model_config(model)},
        baseline_split=data[baseline_source],
        baseline_source=baseline_source,
    )
    run_dir.mark_finished()
    return 0


def baseline_split_name(data, evaluated: str) -> str:
    """The split whose labels give the constant baseline of a saved model's
    report: "train" when the dataset has one, else "valid" (when it is not the
    split evaluated), else the evaluated split itself (an optimistic baseline,
    named as such in the table)."""
    for name in ("train", "valid"):
        if name in data.splits and name != evaluated:
            return name
    return evaluated


def _model_config(model) -> dict:
    config = model.get_config()
    return {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")}


def evaluate_and_report(
    model,
    data,
    directory,
    *,
    run_name,
    seed,
    conditions,
    args,
    config,
    baseline_split,
    baseline_source: str = "train",
) -> dict:
    """Runs the protocol the evaluation options ask for and writes the report.

    Prints one line per condition and curve point, then the table (with the
    constant baseline's row from `baseline_split`'s labels); writes
    results.json / results.md and the figures into `directory`; warns
    (`ModelCollapseWarning`) when the model's complete-condition predictions
    look collapsed.

    Returns:
        The results document.
    """
    from keras_umdf.evaluation.collapse import check_model_for_collapse
    from keras_umdf.evaluation.joint_representations import joint_representations
    from keras_umdf.evaluation.mean_baseline import mean_baseline
    from keras_umdf.evaluation.protocol import FRAME_DROP_RATES
    from keras_umdf.evaluation.protocol import evaluate_protocol
    from keras_umdf.evaluation.report import results_document
    from keras_umdf.evaluation.report import results_markdown
    from keras_umdf.evaluation.report import write_results
    from keras_umdf.evaluation.task_metrics import headline_metrics
    from keras_umdf.evaluation.task_metrics import task_kind
    from keras_umdf.modalities import CONDITIONS

    split = data[args.split]
    kind = task_kind(model)
    label_names = data.label_names if kind == "multi_label" else None
    if not conditions and args.no_curves:
        raise ValueError(
            "Nothing to evaluate: --conditions none with --no-curves; ask for "
            "conditions or the curve."
        )
    print(f"evaluating on {data.name} {args.split} ({split.num_samples} samples)")
    complete = {}
    results = evaluate_protocol(
        model,
        split,
        conditions=conditions,
        rates=None if args.no_curves else FRAME_DROP_RATES,
        curve_condition=args.curve_condition,
        batch_size=args.eval_batch_size,
        seed=seed,
        label_names=label_names,
        progress=print,
        on_predictions=lambda condition, outputs: complete.setdefault(
            condition, outputs
        ),
    )
    baseline = mean_baseline(
        baseline_split.labels,
        split.labels,
        kind,
        label_names=label_names,
        source=baseline_source,
    )
    document = results_document(
        {run_name: {seed: results}},
        kind=kind,
        dataset={
            "name": data.name,
            "split": args.split,
            "num_samples": split.num_samples,
        },
        config=config,
        label_names=label_names,
        baseline=baseline,
    )
    json_path, md_path = write_results(document, directory, overwrite=True)
    print()
    print(results_markdown(document))
    check_model_for_collapse(
        model,
        split,
        baseline["metrics"],
        predictions=complete.get(CONDITIONS[-1]),
        split_name=args.split,
        batch_size=args.eval_batch_size,
        seed=seed,
        label_names=label_names,
    )
    written = [json_path, md_path]
    if "frame_drop" in results or args.tsne:
        from keras_umdf.evaluation.plots import plot_frame_drop_curves
        from keras_umdf.evaluation.plots import plot_tsne

        if _has_matplotlib():
            figures = os.path.join(directory, "figures")
            if "frame_drop" in results:
                written.append(
                    plot_frame_drop_curves(
                        {run_name: results["frame_drop"]},
                        os.path.join(figures, "frame_drop.png"),
                        metrics=headline_metrics(kind, label_names=label_names),
                        title=f"{data.name}: missing rate p",
                        overwrite=True,
                    )
                )
            if args.tsne:
                labels = split.labels
                if labels.ndim == 2:
                    labels = labels.argmax(axis=1)
                written.append(
                    plot_tsne(
                        joint_representations(
                            model, split, batch_size=args.eval_batch_size, seed=seed
                        ),
                        labels,
                        os.path.join(figures, "tsne.png"),
                        title=f"{data.name}: joint representations, {{l}}, p = 0.5",
                        overwrite=True,
                        class_names=label_names,
                    )
                )
        else:
            print(
                '(no figures: matplotlib is not installed; pip install "keras-umdf[plots]")'
            )
    print("wrote " + ", ".join(written))
    return document


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True
