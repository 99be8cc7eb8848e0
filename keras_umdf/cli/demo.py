"""`keras-umdf demo`: train and test UMDF on synthetic MOSI, print Table 1."""

from __future__ import annotations

import json
import os
import time


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "demo",
        help="train UMDF on the built-in synthetic MOSI and print the paper-style "
        "results table (a few minutes on 2 CPU cores)",
    )
    # Defaults sized to finish in about five minutes on 2 CPU cores; the paper's
    # MOSI run is --train-samples 0 --batch-size 128 --epochs 100.
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--train-samples",
        type=int,
        default=512,
        help="train on the first N of the 1284 training clips (0: all of them)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--output",
        default=None,
        help="directory for the model and results (must not exist yet)",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    import keras

    import keras_umdf
    from keras_umdf.data import make_dataset
    from keras_umdf.data import synthetic
    from keras_umdf.evaluation.protocol import evaluate_conditions
    from keras_umdf.evaluation.report import markdown_table

    if args.epochs < 1:
        raise ValueError(f"--epochs must be >= 1; received {args.epochs}.")
    if args.output and os.path.exists(args.output):
        raise FileExistsError(
            f"--output {args.output!r} exists; choose a new directory so that "
            "nothing saved there is overwritten."
        )
    keras.utils.set_random_seed(args.seed)
    data = synthetic("mosi", seed=args.seed)
    train_split = data["train"]
    if args.train_samples < 0:
        raise ValueError(
            f"--train-samples must be >= 0 (0: all); received {args.train_samples}."
        )
    if args.train_samples:
        train_split = train_split.subset(
            range(min(args.train_samples, train_split.num_samples))
        )
    print(
        f"keras_umdf {keras_umdf.__version__} on Keras {keras.__version__} "
        f"({keras.backend.backend()} backend); synthetic MOSI: "
        f"{train_split.num_samples}/{data['valid'].num_samples}/"
        f"{data['test'].num_samples} clips, dims {data.modality_dims}"
    )
    train = make_dataset(
        train_split, training=True, batch_size=args.batch_size, seed=args.seed
    )
    valid = make_dataset(
        data["valid"], training=False, batch_size=args.batch_size, seed=args.seed
    )
    model = keras_umdf.UMDF(data.modality_dims, num_heads=10)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    start = time.perf_counter()
    model.fit(train, validation_data=valid, epochs=args.epochs, verbose=2)
    print(f"trained {args.epochs} epochs in {time.perf_counter() - start:.0f} s")
    results = evaluate_conditions(
        model, data["test"], batch_size=args.batch_size, seed=args.seed, progress=print
    )
    print("\nTest results on synthetic MOSI (MAE lower is better, F1 in %):\n")
    print(markdown_table({"UMDF": results}))
    if args.output:
        os.makedirs(args.output)
        model.save(os.path.join(args.output, "model.keras"))
        with open(os.path.join(args.output, "results.json"), "w") as file:
            json.dump(results, file, indent=2)
        print(f"\nsaved the model and results in {args.output}")
    return 0
