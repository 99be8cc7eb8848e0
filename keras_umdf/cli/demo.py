"""`keras-umdf demo`: train and test UMDF on synthetic MOSI, print Table 1."""

from __future__ import annotations

import time


def add_parser(commands) -> None:
    from keras_umdf.experiments.demo import DEMO_SETTINGS
    from keras_umdf.experiments.demo import DEMO_TRAIN_SAMPLES

    parser = commands.add_parser(
        "demo",
        help="train UMDF and the same network without self-distillation on the "
        "built-in synthetic MOSI and print the paper-style results table (a few "
        "minutes on 2 CPU cores)",
    )
    # Defaults sized to finish in about five minutes on 2 CPU cores; the paper's
    # MOSI run is `keras-umdf reproduce --dataset mosi`.
    parser.add_argument("--epochs", type=int, default=DEMO_SETTINGS["epochs"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--train-samples",
        type=int,
        default=DEMO_TRAIN_SAMPLES,
        help="train on the first N of the 1284 training clips (0: all of them)",
    )
    parser.add_argument("--batch-size", type=int, default=DEMO_SETTINGS["batch_size"])
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="train only UMDF, not also the network without self-distillation",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="directory to keep the models and results in (new, empty, or an "
        "interrupted demo to resume); default: a temporary one",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier demo in --output"
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    import keras

    import keras_umdf
    from keras_umdf.evaluation.markdown_tables import markdown_table
    from keras_umdf.evaluation.mean_baseline import with_baseline_row
    from keras_umdf.experiments.demo import DEMO_VARIANTS
    from keras_umdf.experiments.demo import run_demo

    if args.epochs < 1:
        raise ValueError(f"--epochs must be >= 1; received {args.epochs}.")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1; received {args.batch_size}.")
    if args.train_samples < 0:
        raise ValueError(
            f"--train-samples must be >= 0 (0: all); received {args.train_samples}."
        )
    print(
        f"keras_umdf {keras_umdf.__version__} on Keras {keras.__version__} "
        f"({keras.backend.backend()} backend); synthetic MOSI, "
        f"{args.train_samples or 'all'} training clips, {args.epochs} epochs"
    )
    start = time.perf_counter()
    demo = run_demo(
        args.output,
        settings={"epochs": args.epochs, "batch_size": args.batch_size},
        seed=args.seed,
        train_samples=args.train_samples,
        variants=DEMO_VARIANTS[:1] if args.no_baseline else DEMO_VARIANTS,
        overwrite=args.overwrite,
    )
    print(
        f"\nTest results on synthetic MOSI after {time.perf_counter() - start:.0f} s "
        "(MAE lower is better; F1 in % of positive against negative, neutral "
        "clips left out):\n"
    )
    print(markdown_table(with_baseline_row(demo["tables"], demo["baseline"])))
    print(f"\n{demo['baseline']['description']}")
    warmup = demo["document"]["config"]["model_arguments"]["distillation_warmup"]
    print(
        f"UMDF's distillation weights rose from 0 to 1 over the {warmup} training "
        "steps (distillation_warmup; the paper uses them in full from the first "
        "step)."
    )
    if args.output:
        print(f"Models, histories and results.json / results.md are in {args.output}.")
    else:
        print(
            "The models and results.json / results.md were written to a temporary "
            "directory, now removed; pass --output DIR to keep them."
        )
    return 0
