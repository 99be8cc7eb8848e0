"""UMDF against SDUMC on the same data: the seven conditions and "text missing".

`compare_missing_text` trains every (model, seed) unit on the same training
split with the same settings, tests each under the paper's seven modality
conditions and the "text_missing" condition (audio, vision and the pseudo text
when the data has one; the real text removed), and reports mean ± std over the
seeds with, per condition, which model wins by MAE and by Non0 F1, and the
row of predicting the training mean (`mean_baseline`) for scale. SDUMC
predicts under every condition: it routes each clip to its full flow when the
text is present and to its imagined-text flow when it is not.

Directory layout: `run.json` (the comparison's configuration and status),
`runs/<model>/seed-<s>/` (the unit's `model.keras` and `evaluation.json`; a
UMDF unit is a `train_model` run), `results.json` and `results.md`. An
interrupted comparison is resumed by running it again with the same
configuration: units with an `evaluation.json` are read back, not rerun; a unit
with a `model.keras` but no results is only evaluated; a UMDF unit cut off
during training resumes at its last finished epoch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence

from keras_umdf.data.atomic_file import write_text_atomically
from keras_umdf.evaluation.json_results import json_ready
from keras_umdf.evaluation.mean_baseline import mean_baseline
from keras_umdf.evaluation.protocol import evaluate_conditions
from keras_umdf.experiments.comparison_report import COMPARED_METRICS
from keras_umdf.experiments.comparison_report import comparison_document
from keras_umdf.experiments.comparison_report import comparison_markdown
from keras_umdf.experiments.comparison_report import winners
from keras_umdf.experiments.experiment_units import UNIT_RESULTS
from keras_umdf.experiments.experiment_units import check_seeds
from keras_umdf.experiments.experiment_units import run_units
from keras_umdf.experiments.run_directory import RunDirectory
from keras_umdf.experiments.sdumc_training import train_sdumc
from keras_umdf.experiments.training_run import train_model
from keras_umdf.experiments.training_settings import default_settings
from keras_umdf.experiments.training_settings import training_split
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import PSEUDO_TEXT
from keras_umdf.modalities import TEXT_MISSING

__all__ = [
    "COMPARED_METRICS",
    "COMPARISON_CONDITIONS",
    "DEFAULT_SEEDS",
    "MODEL_NAMES",
    "UNIT_RESULTS",
    "compare_missing_text",
    "comparison_document",
    "comparison_markdown",
    "parse_models",
    "winners",
]

MODEL_NAMES = ("UMDF", "SDUMC")
"""The models the comparison can train, by their display names."""

COMPARISON_CONDITIONS = (*CONDITIONS, TEXT_MISSING)
"""The paper's seven conditions and "text_missing"."""

DEFAULT_SEEDS = (0, 1, 2)


def parse_models(text: str) -> tuple[str, ...]:
    """Parses a comma-separated list of models: "umdf,sdumc" -> ("UMDF", "SDUMC").

    Raises:
        ValueError: an unknown, repeated or empty list of names.
    """
    by_slug = {name.lower(): name for name in MODEL_NAMES}
    names = []
    for item in str(text).split(","):
        name = by_slug.get(item.strip().lower())
        if name is None:
            raise ValueError(
                f"--models {text!r}: unknown model {item.strip()!r}; use a "
                f"comma-separated list of {[n.lower() for n in MODEL_NAMES]}."
            )
        if name in names:
            raise ValueError(f"--models {text!r}: {name} is listed twice.")
        names.append(name)
    return tuple(names)


def compare_missing_text(
    data,
    directory,
    *,
    settings: Mapping | None = None,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    models: Sequence[str] = MODEL_NAMES,
    conditions: Sequence[str] = COMPARISON_CONDITIONS,
    split: str = "test",
    eval_batch_size: int = 128,
    train_samples: int = 0,
    overwrite: bool = False,
    verbose="auto",
    data_config: Mapping | None = None,
    progress: Callable[[str], None] | None = print,
) -> dict:
    """Trains UMDF and SDUMC with every seed on the same data and compares them.

    Both models take the same settings (batch size, learning rate, epochs,
    heads, width, depth: the dataset's preset with the overrides in
    `settings`); UMDF trains on its two randomly masked views per clip (the
    paper's training), SDUMC on batches with every stream present (it builds
    its two flows itself). Each unit is tested with the unit's seed as the
    evaluation-mask seed.

    Args:
        data: a regression `MultimodalDataset` with "train" and the test
            `split`, ideally with a "pseudo_text" stream (e.g.
            `synthetic("mosei", pseudo_text=True)`); without one, SDUMC imagines
            the text from audio and vision alone.
        directory: the comparison's directory: new, empty, or an unfinished
            comparison of the same configuration (resumed).
        settings: training settings (default the dataset's preset).
        seeds: the seeds; the table shows mean ± std over them.
        models: names among `MODEL_NAMES`.
        conditions: test conditions (default the seven and "text_missing").
        split: the split to test on.
        eval_batch_size: evaluation batch size.
        train_samples: train on the first N clips (0: all).
        overwrite: replace an earlier comparison in `directory` (only the files
            keras_umdf writes are removed).
        verbose: `fit`'s verbosity.
        data_config: how the data was named, recorded in the configuration.
        progress: receives one line per step.

    Returns:
        The results document, as written to `results.json`: per model the
        per-seed results and the summary (mean, "<metric>_std"), and per
        condition the winner by each compared metric.

    Raises:
        ValueError: the data is not a regression dataset, a model name or the
            seeds are invalid, or the split is missing.

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosei", scale=0.05, pseudo_text=True)
    settings = {**default_settings(data), "epochs": 3, "hidden_dim": 16}
    document = compare_missing_text(data, "runs/missing-text", settings=settings)
    document["winners"]["text_missing"]  # {"mae": "SDUMC", "non0_f1": ...}
    ```
    """
    say = progress or (lambda line: None)
    if getattr(data, "task", None) != "regression":
        raise ValueError(
            "The missing-text comparison is for sentiment regression (SDUMC "
            f"predicts a score); the dataset {getattr(data, 'name', '')!r} has "
            f"task={getattr(data, 'task', None)!r}. Use mosi or mosei data."
        )
    if split not in data.splits:
        raise ValueError(
            f"split={split!r}: the dataset has splits {sorted(data.splits)}."
        )
    settings = {**default_settings(data), **dict(settings or {})}
    seeds = check_seeds(seeds)
    models = list(parse_models(",".join(models)))
    conditions = list(conditions)
    config = {
        "data": dict(data_config or {"name": getattr(data, "name", "dataset")}),
        "settings": settings,
        "seeds": seeds,
        "models": models,
        "conditions": conditions,
        "split": split,
        "train_samples": int(train_samples),
        "pseudo_text": PSEUDO_TEXT in data.modality_dims,
    }
    run = RunDirectory(directory, "missing_text")
    if run.prepare(config, overwrite=overwrite) == "resume":
        say(f"{run.path}: resuming the comparison")
    test_split = data[split]
    baseline = mean_baseline(
        training_split(data, train_samples).labels, test_split.labels, "regression"
    )

    def train(name, seed, unit_dir):
        if name == "SDUMC":
            return train_sdumc(data, unit_dir, settings, seed, train_samples, verbose)
        return train_model(
            data,
            unit_dir,
            settings=settings,
            seed=seed,
            train_samples=train_samples,
            reuse_finished=True,
            tensorboard=False,
            validate=False,
            select_epoch="last",
            verbose=verbose,
            data_config=config["data"],
            progress=say,
        ).model

    def evaluate(model, **kwargs):
        return evaluate_conditions(
            model,
            test_split,
            conditions=conditions,
            batch_size=eval_batch_size,
            **kwargs,
        )

    results = run_units(
        run,
        models,
        seeds,
        slug=str.lower,
        train=train,
        evaluate=evaluate,
        read_back=_metrics_from_json,
        test_split=test_split,
        split_name=split,
        baseline_metrics=baseline["metrics"],
        batch_size=eval_batch_size,
        say=say,
    )
    document = comparison_document(
        results,
        dataset={
            "name": getattr(data, "name", "dataset"),
            "split": split,
            "num_samples": test_split.num_samples,
        },
        config=config,
        baseline=baseline,
    )
    json_path, md_path = run.file("results.json"), run.file("results.md")
    write_text_atomically(json_path, json.dumps(json_ready(document), indent=1) + "\n")
    write_text_atomically(md_path, comparison_markdown(document))
    say(f"wrote {json_path} and {md_path}")
    run.mark_finished()
    return document


def _metrics_from_json(results: Mapping) -> dict:
    """A unit's results read back: JSON null metrics become NaN."""
    return {
        condition: {k: float("nan") if v is None else v for k, v in metrics.items()}
        for condition, metrics in results.items()
    }
