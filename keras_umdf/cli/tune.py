"""`keras-umdf tune`: a KerasTuner search of lambda_1 / lambda_2 (the `tuning` package)."""

from __future__ import annotations

import argparse
import sys

from keras_umdf.cli.argument_types import finite_float
from keras_umdf.cli.dataset_options import add_dataset_arguments
from keras_umdf.cli.dataset_options import add_training_arguments

# tuning.TUNER_NAMES and tuning.OBJECTIVE_METRICS, spelled out so that building
# the parser (`keras-umdf --help`) does not import KerasTuner.
TUNERS = ("random", "bayesian", "hyperband")
METRICS = ("mae", "non0_f1", "weighted_f1", "mean_f1")


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "tune",
        help="search lambda_fea / lambda_logits (and the learning rate) with "
        "KerasTuner; resumable, on one machine or as a chief and workers",
        description="Search UMDF's distillation weights with KerasTuner. Each "
        "trial trains on the 'train' split and is scored on 'valid' by a task "
        "metric (never val_loss). Restarting with the same --directory resumes "
        "the search. Results: DIR/results.json, results.md, best_model.keras, "
        "objective.png.",
    )
    add_dataset_arguments(parser)
    add_training_arguments(parser)
    group = parser.add_argument_group("search")
    group.add_argument(
        "--directory",
        required=True,
        help="the search directory: new, empty, or a search to resume",
    )
    group.add_argument("--tuner", choices=TUNERS, default="random")
    group.add_argument(
        "--max-trials",
        type=int,
        default=10,
        help="trials of a random or Bayesian search; raise it to extend a "
        "finished search (Hyperband sizes itself from --epochs, "
        "--hyperband-factor and --hyperband-iterations)",
    )
    group.add_argument(
        "--objective",
        choices=METRICS,
        default=None,
        help="validation task metric to optimise: mae (lower is better, the "
        "regression default), non0_f1, weighted_f1 (classification default), "
        "mean_f1 (multi-label default); never the loss",
    )
    group.add_argument(
        "--incomplete-average",
        action="store_true",
        help="optimise the metric's mean over the six incomplete-modality "
        "conditions (the paper's Avg.; six extra validation passes per epoch)",
    )
    group.add_argument(
        "--hyperband-factor", type=int, default=3, help="Hyperband's reduction factor"
    )
    group.add_argument(
        "--hyperband-iterations",
        type=int,
        default=1,
        help="how many times Hyperband runs all its brackets",
    )
    group.add_argument(
        "--seed", type=int, default=0, help="seed of the oracle, weights and masks"
    )
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="delete a previous search in --directory instead of resuming it",
    )
    space = parser.add_argument_group(
        "search space (defaults, then --search-space FILE, then these flags)"
    )
    space.add_argument(
        "--search-space",
        metavar="FILE",
        default=None,
        help="a .json or .toml file with keys lambda_fea, lambda_logits, "
        "lambda_off, learning_rate, hidden_dim, num_layers",
    )
    space.add_argument(
        "--lambda-fea",
        nargs=2,
        type=finite_float,
        metavar=("LOW", "HIGH"),
        default=None,
        help="log-scale range of lambda_1 (default 0.01 10)",
    )
    space.add_argument(
        "--lambda-logits",
        nargs=2,
        type=finite_float,
        metavar=("LOW", "HIGH"),
        default=None,
        help="log-scale range of lambda_2 (default 0.01 10)",
    )
    space.add_argument(
        "--lambda-off",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also try 0 (the term switched off) for each lambda (default: yes)",
    )
    space.add_argument(
        "--search-learning-rate",
        nargs=2,
        type=finite_float,
        metavar=("LOW", "HIGH"),
        default=None,
        help="log-scale range of the learning rate (default 3e-4 3e-3; "
        "--learning-rate fixes it instead)",
    )
    space.add_argument(
        "--search-hidden-dim",
        nargs="+",
        type=int,
        metavar="D",
        default=None,
        help="hidden_dim values to choose from (multiples of --num-heads)",
    )
    space.add_argument(
        "--search-num-layers",
        nargs="+",
        type=int,
        metavar="N",
        default=None,
        help="numbers of MCIM layers to choose from",
    )
    distributed = parser.add_argument_group(
        "distributed (KerasTuner's chief/worker mode; or set KERASTUNER_TUNER_ID, "
        "KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT)"
    )
    distributed.add_argument(
        "--tuner-id",
        default=None,
        help="'chief' for the process that serves the oracle, a distinct name "
        "(tuner0, tuner1, ...) for each worker",
    )
    distributed.add_argument(
        "--oracle-address",
        default=None,
        help="chief: the address to listen on; workers: the chief's address. "
        "Default 127.0.0.1: the oracle's gRPC service is unauthenticated, name "
        "an address only on a trusted network",
    )
    distributed.add_argument("--oracle-port", type=int, default=None)
    parser.set_defaults(run=run)


def search_space_from_args(args):
    """The search space: defaults, then the --search-space file, then flags.

    Raises:
        ValueError: a fixed value and a searched range are both given for the
            same setting, or a range is invalid.
    """
    from tuning import SearchSpace

    space = (
        SearchSpace.from_file(args.search_space) if args.search_space else SearchSpace()
    )
    changes = {}
    if args.lambda_fea is not None:
        changes["lambda_fea"] = tuple(args.lambda_fea)
    if args.lambda_logits is not None:
        changes["lambda_logits"] = tuple(args.lambda_logits)
    if args.lambda_off is not None:
        changes["lambda_off"] = args.lambda_off
    for fixed, searched, field in (
        ("learning_rate", "search_learning_rate", "learning_rate"),
        ("hidden_dim", "search_hidden_dim", "hidden_dim"),
        ("num_layers", "search_num_layers", "num_layers"),
    ):
        fixed_value = getattr(args, fixed, None)
        searched_value = getattr(args, searched)
        flag = "--" + fixed.replace("_", "-")
        if fixed_value is not None and searched_value is not None:
            raise ValueError(
                f"{flag} {fixed_value} fixes {field} but --{searched.replace('_', '-')} "
                f"searches it; pass one of the two."
            )
        if searched_value is not None:
            changes[field] = tuple(searched_value)
        elif fixed_value is not None:
            changes[field] = None  # Fixed: the training settings' value.
    try:
        return space.replace(**changes)
    except ValueError as error:
        raise ValueError(f"search space: {error}") from None


def run(args) -> int:
    from keras_umdf.cli.dataset_options import load_dataset_from_args
    from keras_umdf.cli.dataset_options import training_settings
    from keras_umdf.experiments.training_settings import training_p_max
    from tuning import DistributedSettings
    from tuning import search

    distributed = DistributedSettings.resolve(
        args.tuner_id, args.oracle_address, args.oracle_port
    )
    space = search_space_from_args(args)
    data = load_dataset_from_args(args)
    settings = training_settings(args, data)
    model_kwargs = {"num_heads": settings["num_heads"]}
    for name in ("hidden_dim", "num_layers"):
        if getattr(space, name) is None:
            model_kwargs[name] = settings[name]
    role = (
        "local search"
        if distributed is None
        else f"{distributed.tuner_id} of a distributed search, oracle "
        f"{distributed.address}:{distributed.port}"
    )
    epochs = settings["epochs"]
    print(
        f"keras-umdf tune: {args.tuner} search in {args.directory} ({role}); "
        f"{data.name}: {data['train'].num_samples} training and "
        f"{data['valid'].num_samples} validation clips; {epochs} "
        f"epoch{'' if epochs == 1 else 's'} per trial; {settings['preset']} "
        f"settings {model_kwargs}.",
        flush=True,
    )
    try:
        results = search(
            data,
            args.directory,
            tuner=args.tuner,
            max_trials=args.max_trials,
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            learning_rate=settings["learning_rate"],
            warmup_steps=settings["warmup_steps"],
            p_max=training_p_max(settings),
            seed=args.seed,
            search_space=space,
            objective=args.objective,
            incomplete_average=args.incomplete_average,
            hyperband_factor=args.hyperband_factor,
            hyperband_iterations=args.hyperband_iterations,
            overwrite=args.overwrite,
            distributed=distributed,
            verbose=2,
            **model_kwargs,
        )
    except KeyboardInterrupt:
        print(
            f"\nInterrupted. Run the same command again to resume the search in "
            f"{args.directory}: finished trials are kept.",
            file=sys.stderr,
        )
        return 130
    except ImportError as error:  # An optional package the chosen tuner needs.
        raise ValueError(str(error)) from error
    except OSError as error:
        if isinstance(error, (FileNotFoundError, FileExistsError, PermissionError)):
            raise
        raise ValueError(str(error)) from error
    if results is None:
        return 0
    print_summary(results)
    return 0


def print_summary(results: dict) -> None:
    objective = results["objective"]
    print(
        f"\n{results['num_completed']} of {results['num_trials']} trials completed; "
        f"objective {objective['name']} ({objective['direction']})."
    )
    best = results["best"]
    if best is None:
        print("No trial completed: no best hyper-parameters.")
    else:
        arguments = best["model_arguments"]
        print(
            f"Best: trial {best['trial_id']}, {objective['name']} "
            f"{best['score']:.4f}: lambda_fea={best['lambda_fea']:.4g}, "
            f"lambda_logits={best['lambda_logits']:.4g}, learning_rate="
            f"{best['learning_rate']:.4g}, hidden_dim={arguments['hidden_dim']}, "
            f"num_layers={arguments['num_layers']}."
        )
    for note in results.get("notes", []):
        print(f"Note: {note}")
    for name, path in sorted(results.get("files", {}).items()):
        print(f"  {name}: {path}")
