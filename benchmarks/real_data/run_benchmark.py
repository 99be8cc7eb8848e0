"""The real-data development benchmark: UMDF against a linear probe and the mean.

Runs the paper's protocol (`keras_umdf.experiments.reproduce`: every seed
trains UMDF and the same network without distillation, each tested under the
inter-modality conditions) on a dataset built by `build_dataset.py`, and sets
beside it, on the same test clips and the same inputs:

- a linear probe: ridge regression on each clip's features averaged over its
  present frames,
  standardised on the training split, its ridge weight chosen on the
  validation split;
- predicting the training mean (`keras_umdf.evaluation.mean_baseline`).

Usage:

    python benchmarks/real_data/run_benchmark.py mosi_minilm.pkl \
        --output runs/real-mosi --epochs 20 --seeds 0,1,2,3,4

Prints a Markdown table of the {l} condition (and the complete one) with the
mean and standard deviation over the seeds, and writes it with the full
results to the output directory.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

RIDGE_WEIGHTS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
HEADLINE = ("mae", "corr", "acc7", "non0_acc2", "non0_f1")


def pooled(split, modalities) -> np.ndarray:
    """Each clip's features averaged over its present (nonzero) frames."""
    parts = []
    for m in modalities:
        x = split.features[m]
        present = np.any(x != 0, axis=-1, keepdims=True)
        count = np.maximum(present.sum(axis=1), 1)
        parts.append((x * present).sum(axis=1) / count)
    return np.concatenate(parts, axis=-1)


def linear_probe(data, modalities) -> np.ndarray:
    """Test predictions of a ridge regression on pooled features."""
    train, valid, test = (
        pooled(data[s], modalities) for s in ("train", "valid", "test")
    )
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std < 1e-6] = 1.0

    def design(x):
        return np.c_[(x - mean) / std, np.ones(len(x))]

    def fit(weight):
        x = design(train)
        penalty = weight * np.eye(x.shape[1])
        penalty[-1, -1] = 0.0
        return np.linalg.solve(x.T @ x + penalty, x.T @ data["train"].labels)

    errors = {
        w: np.abs(design(valid) @ fit(w) - data["valid"].labels).mean()
        for w in RIDGE_WEIGHTS
    }
    return design(test) @ fit(min(errors, key=errors.get))


def summary(values: list[float]) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std():.3f}"


def main(argv=None) -> None:
    from keras_umdf.data import load_dataset
    from keras_umdf.evaluation.regression_metrics import regression_metrics
    from keras_umdf.experiments import reproduce

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="the pickle written by build_dataset.py")
    parser.add_argument("--output", required=True, help="the run directory")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument(
        "--variants", default="UMDF,w/o distillation", help="comma-separated"
    )
    parser.add_argument("--model-arguments", default="{}", help="JSON")
    parser.add_argument(
        "--frame-drop-max",
        type=float,
        default=None,
        help="the largest frame-drop rate of the training views (default: the "
        "library's)",
    )
    args = parser.parse_args(argv)
    data = load_dataset(args.dataset)
    if data.task != "regression":
        raise SystemExit(f"{args.dataset}: this benchmark scores regression data.")
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = [v.strip() for v in args.variants.split(",")]
    document = reproduce(
        data,
        args.output,
        settings={
            "epochs": args.epochs,
            **({} if args.frame_drop_max is None else {"p_max": args.frame_drop_max}),
        },
        seeds=seeds,
        variants=variants,
        model_arguments=json.loads(args.model_arguments),
        conditions=("l", "lav"),
        rates=None,
        figures=False,
        verbose=0,
    )
    test = data["test"].labels
    mean = regression_metrics(np.full(test.shape, data["train"].labels.mean()), test)
    probe = {
        "l": regression_metrics(linear_probe(data, ["text"]), test),
        "lav": regression_metrics(linear_probe(data, list(data.modality_dims)), test),
    }
    rows = []
    header = "| Model | Condition | " + " | ".join(HEADLINE) + " |"
    rows.append(header)
    rows.append("|" + "---|" * (len(HEADLINE) + 2))
    for name in variants:
        per_seed = document["runs"][name]["seeds"]
        for condition in ("l", "lav"):
            cells = [
                summary([per_seed[s]["conditions"][condition][k] for s in seeds])
                for k in HEADLINE
            ]
            rows.append(f"| {name} | {condition} | " + " | ".join(cells) + " |")
    for condition in ("l", "lav"):
        cells = [f"{probe[condition][k]:.3f}" for k in HEADLINE]
        rows.append(f"| Linear probe | {condition} | " + " | ".join(cells) + " |")
    cells = [f"{mean[k]:.3f}" for k in HEADLINE]
    rows.append("| Predict the training mean | any | " + " | ".join(cells) + " |")
    table = "\n".join(rows)
    print(table)
    with open(os.path.join(args.output, "benchmark.md"), "w") as handle:
        handle.write(table + "\n")


if __name__ == "__main__":
    main()
