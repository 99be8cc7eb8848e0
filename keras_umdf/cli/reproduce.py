"""`keras-umdf reproduce`: the paper's tables and figures for one dataset."""

from __future__ import annotations

import argparse

from keras_umdf.cli.argument_types import finite_float
from keras_umdf.cli.dataset_options import add_dataset_arguments
from keras_umdf.cli.dataset_options import add_training_arguments
from keras_umdf.cli.run_options import add_evaluation_arguments
from keras_umdf.cli.run_options import add_normalization_argument
from keras_umdf.cli.run_options import add_output_arguments
from keras_umdf.cli.run_options import add_run_arguments
from keras_umdf.cli.run_options import add_supervise_logits_argument
from keras_umdf.cli.run_options import add_warmup_argument

DESCRIPTION = """\
Reproduce the paper's experiments on one dataset: train every variant (the full
UMDF, the four Table 3 ablations and plain training without distillation) with
every seed, test each under the seven modality conditions and along the frame-drop
curve, and report mean ± std over the seeds. Each unit keeps the epoch with the
best validation task metric (--select-epoch last: the last epoch); every table
ends with the scores of predicting the mean training label for every clip.

Writes into --output: results.json and results.md (Table 1 / Table 2 layout per
variant, Table 3 layout, the curves), figures/frame_drop.png, ablation_frame_drop.png
and tsne.png (Figures 3-6, with matplotlib), and runs/<variant>/seed-<s>/ (each
unit's model, history, TensorBoard log and results). Interrupted, the same command
resumes: finished units are skipped, the unfinished one resumes at its last epoch.
"""


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "reproduce",
        help="seeds x (full model + ablations) x (conditions + curves), resumable",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dataset_arguments(parser)
    add_training_arguments(parser)
    group = parser.add_argument_group("reproduction")
    group.add_argument(
        "--seeds",
        default="5",
        help="a number k (seeds 0..k-1; the paper uses 5) or a comma-separated "
        "list of seeds",
    )
    group.add_argument(
        "--variants",
        default="all",
        help="'all' or a comma-separated list of UMDF, 'w/o L_fea', "
        "'w/o L_logits', 'w/o MCIM', 'w/o DFIM', 'w/o distillation' (or their "
        "slugs umdf, wo-l_fea, wo-l_logits, wo-mcim, wo-dfim, wo-distillation)",
    )
    group.add_argument(
        "--lambda-fea",
        type=finite_float,
        default=None,
        help="weight of the feature distillation in every variant that has it "
        "(default UMDF's 1.0), e.g. a value found by `keras-umdf tune`; the "
        "ablations that remove the term keep it at 0",
    )
    group.add_argument(
        "--lambda-logits",
        type=finite_float,
        default=None,
        help="weight of the logits distillation, likewise (default 1.0)",
    )
    add_warmup_argument(group)
    add_supervise_logits_argument(group)
    add_normalization_argument(group)
    group.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    # issue 8 (SDUMC): --models umdf,sdumc runs the missing-text comparison.
    group.add_argument(
        "--models",
        default="umdf",
        help="'umdf' (default: the paper's variants) or a comma-separated list "
        "of umdf, sdumc: train UMDF and SDUMC with every seed on the same data "
        "(synthetic data gets a pseudo-text stream) and compare them under the "
        "seven conditions and text_missing (keras_umdf.experiments.missing_text)",
    )
    add_run_arguments(parser)
    add_evaluation_arguments(parser, tsne=False)
    add_output_arguments(parser, "the reproduction")
    parser.set_defaults(run=run)


def parse_seeds(text: str) -> tuple[int, ...]:
    """--seeds: "5" -> (0, 1, 2, 3, 4); "3,7" -> (3, 7).

    Raises:
        ValueError: not a positive count or a list of distinct seeds >= 0.
    """
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise ValueError
            return tuple(range(count))
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ValueError(
            f"--seeds {text!r}: pass a number of seeds (e.g. 5) or a list such as "
            "0,1,2."
        ) from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {text!r}: seeds must be distinct and >= 0.")
    return seeds


def run(args) -> int:
    from keras_umdf.cli.dataset_options import load_dataset_from_args
    from keras_umdf.cli.dataset_options import training_settings
    from keras_umdf.cli.run_options import conditions_from_args
    from keras_umdf.cli.run_options import curve_rates
    from keras_umdf.cli.run_options import data_config
    from keras_umdf.cli.run_options import distillation_weights
    from keras_umdf.cli.run_options import note_clamped_train_samples
    from keras_umdf.cli.run_options import verbosity
    from keras_umdf.evaluation.report import results_markdown
    from keras_umdf.experiments.reproduction import reproduce
    from keras_umdf.experiments.variants import parse_variants

    seeds = parse_seeds(args.seeds)
    shared_arguments = distillation_weights(args)
    if args.models.strip().lower() != "umdf":  # issue 8: UMDF against SDUMC
        if shared_arguments:
            raise ValueError(
                "--lambda-fea / --lambda-logits / --distillation-warmup / "
                "--no-supervise-logits / --no-normalize set the paper variants' "
                "options; "
                f"they do not apply with --models {args.models!r}. Leave them out."
            )
        return compare_models(args, seeds)
    variants = parse_variants(args.variants)
    conditions = conditions_from_args(args)
    data = load_dataset_from_args(args)
    if args.split not in data.splits:
        raise ValueError(
            f"--split {args.split!r}: the dataset has splits {sorted(data.splits)}."
        )
    settings = training_settings(args, data)
    note_clamped_train_samples(args, data, "reproduce")
    print(
        f"reproducing on {data.name}: {len(variants)} variants x {len(seeds)} seeds; "
        + ", ".join(f"{k} {v}" for k, v in settings.items())
    )
    document = reproduce(
        data,
        args.output,
        settings=settings,
        seeds=seeds,
        variants=variants,
        model_arguments=shared_arguments,
        conditions=conditions,
        rates=curve_rates(args),
        curve_condition=args.curve_condition,
        split=args.split,
        eval_batch_size=args.eval_batch_size,
        train_samples=args.train_samples,
        select_epoch=args.select_epoch,
        overwrite=args.overwrite,
        figures=not args.no_figures,
        verbose=verbosity(args),
        distribute=args.distribute,
        data_config=data_config(args),
    )
    print()
    print(results_markdown(document))
    return 0


def compare_models(args, seeds: tuple[int, ...]) -> int:
    """`reproduce --models umdf,sdumc`: `keras_umdf.experiments.missing_text`
    with the command line's dataset (synthetic data gets a pseudo-text
    stream), settings and conditions, plus "text_missing"."""
    from keras_umdf.cli.dataset_options import load_dataset_from_args
    from keras_umdf.cli.dataset_options import training_settings
    from keras_umdf.cli.run_options import conditions_from_args
    from keras_umdf.cli.run_options import data_config
    from keras_umdf.cli.run_options import verbosity
    from keras_umdf.experiments import missing_text
    from keras_umdf.modalities import TEXT_MISSING

    models = missing_text.parse_models(args.models)
    if getattr(args, "distribute", "none") not in (None, "none"):
        raise ValueError(
            f"--distribute {args.distribute}: the UMDF/SDUMC comparison trains on "
            "one device; leave --distribute out."
        )
    conditions = list(conditions_from_args(args))
    if TEXT_MISSING not in conditions:
        conditions.append(TEXT_MISSING)
    data = load_dataset_from_args(args, pseudo_text=True)
    settings = training_settings(args, data)
    print(
        f"comparing {', '.join(models)} on {data.name} with {len(seeds)} seeds; "
        + ", ".join(f"{k} {v}" for k, v in settings.items())
    )
    document = missing_text.compare_missing_text(
        data,
        args.output,
        settings=settings,
        seeds=seeds,
        models=models,
        conditions=conditions,
        split=args.split,
        eval_batch_size=args.eval_batch_size,
        train_samples=args.train_samples,
        overwrite=args.overwrite,
        verbose=verbosity(args),
        data_config={**data_config(args), "pseudo_text": True},
    )
    print()
    print(missing_text.comparison_markdown(document))
    return 0
