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
import os
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence

import keras

from keras_umdf import optimizers
from keras_umdf.evaluation.collapse import check_model_for_collapse
from keras_umdf.evaluation.mean_baseline import mean_baseline
from keras_umdf.evaluation.mean_baseline import with_baseline_row
from keras_umdf.evaluation.protocol import evaluate_conditions
from keras_umdf.evaluation.report import environment_info
from keras_umdf.evaluation.report import format_condition
from keras_umdf.evaluation.report import format_metric
from keras_umdf.evaluation.report import json_ready
from keras_umdf.evaluation.report import markdown_table
from keras_umdf.evaluation.report import metric_label
from keras_umdf.evaluation.report import write_text_atomically
from keras_umdf.evaluation.seed_aggregation import aggregate_seeds
from keras_umdf.experiments.run_directory import RunDirectory
from keras_umdf.experiments.training_run import default_settings
from keras_umdf.experiments.training_run import task_keras_metrics
from keras_umdf.experiments.training_run import train_model
from keras_umdf.experiments.training_run import training_split
from keras_umdf.modalities import ALL_STREAMS
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import PSEUDO_TEXT
from keras_umdf.modalities import TEXT_MISSING

MODEL_NAMES = ("UMDF", "SDUMC")
"""The models the comparison can train, by their display names."""

COMPARISON_CONDITIONS = (*CONDITIONS, TEXT_MISSING)
"""The paper's seven conditions and "text_missing"."""

COMPARED_METRICS = {"mae": "lower", "non0_f1": "higher"}
"""The metrics the report compares, with the better direction."""

DEFAULT_SEEDS = (0, 1, 2)
UNIT_RESULTS = "evaluation.json"
RESULTS_FORMAT = 1


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
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and non-empty; received {seeds}.")
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
    units = [(name, seed) for name in models for seed in seeds]
    results = {name: {} for name in models}
    for number, (name, seed) in enumerate(units, start=1):
        unit_dir = run.file("runs", name.lower(), f"seed-{seed}")
        unit_file = os.path.join(unit_dir, UNIT_RESULTS)
        label = f"[{number}/{len(units)}] {name}, seed {seed}"
        if os.path.exists(unit_file):
            with open(unit_file) as file:
                results[name][seed] = _metrics_from_json(json.load(file))
            say(f"{label}: done earlier, results read from {unit_file}")
            continue
        say(f"{label}: training")
        if name == "UMDF":
            model = train_model(
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
        else:
            model = _train_sdumc(data, unit_dir, settings, seed, train_samples, verbose)
        say(f"{label}: evaluating on {split}")
        complete = {}
        unit_results = evaluate_conditions(
            model,
            test_split,
            conditions=conditions,
            batch_size=eval_batch_size,
            seed=seed,
            progress=lambda line, label=label: say(f"{label}: {line}"),
            on_predictions=lambda condition, outputs, complete=complete: (
                complete.setdefault(condition, outputs)
            ),
        )
        check_model_for_collapse(
            model,
            test_split,
            baseline["metrics"],
            predictions=complete.get(CONDITIONS[-1]),
            split_name=split,
            subject=f"{name} (seed {seed})",
            batch_size=eval_batch_size,
            seed=seed,
        )
        write_text_atomically(unit_file, json.dumps(json_ready(unit_results), indent=1))
        results[name][seed] = unit_results
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


def comparison_document(
    results: Mapping[str, Mapping[int, Mapping]],
    *,
    dataset: Mapping | None = None,
    config: Mapping | None = None,
    baseline: Mapping | None = None,
) -> dict:
    """The JSON-ready record of a comparison.

    Args:
        results: model name -> seed -> condition -> metrics (as
            `evaluate_conditions` returns them).
        dataset: name, split and size of the test data.
        config: the comparison's configuration.
        baseline: predicting the training mean on the test split
            (`mean_baseline`), shown as the table's last row.

    Returns:
        `{"models": {name: {"seeds": ..., "summary": ...}}, "winners":
        {condition: {metric: name or "tie"}}, "baseline": ..., ...}`.
    """
    summaries = {
        name: aggregate_seeds([per_seed[s] for s in sorted(per_seed)])
        for name, per_seed in results.items()
    }
    return {
        "keras_umdf_comparison": RESULTS_FORMAT,
        "kind": "missing_text",
        "dataset": dict(dataset or {}),
        "config": dict(config or {}),
        "seeds": sorted({s for per_seed in results.values() for s in per_seed}),
        "environment": environment_info(),
        "models": {
            name: {
                "seeds": {str(s): per_seed[s] for s in sorted(per_seed)},
                "summary": summaries[name],
            }
            for name, per_seed in results.items()
        },
        "winners": winners(summaries),
        "baseline": dict(baseline) if baseline else None,
    }


def winners(summaries: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict:
    """Per condition and compared metric, the model with the better mean.

    Lower MAE wins, higher Non0 F1 wins; equal means (to 1e-9) give "tie", a
    NaN in any model gives "-". With one model, it wins everywhere.
    """
    names = list(summaries)
    conditions = [
        c for c in summaries[names[0]] if all(c in summaries[n] for n in names)
    ]
    out = {}
    for condition in conditions:
        out[condition] = {}
        for metric, direction in COMPARED_METRICS.items():
            values = {n: summaries[n][condition].get(metric) for n in names}
            if any(v is None or v != v for v in values.values()):
                out[condition][metric] = "-"
                continue
            best = (min if direction == "lower" else max)(values.values())
            leaders = [n for n, v in values.items() if abs(v - best) <= 1e-9]
            out[condition][metric] = leaders[0] if len(leaders) == 1 else "tie"
    return out


def comparison_markdown(document: Mapping) -> str:
    """The comparison as Markdown: one table (rows the models, columns the
    seven conditions, Avg. of the six incomplete ones, {l,a,v} and
    text_missing; cells MAE / F1, mean ± std over seeds; the last row
    predicting the training mean) and one line per condition saying which
    model wins by MAE and by F1."""
    dataset = document.get("dataset") or {}
    config = document.get("config") or {}
    settings = config.get("settings") or {}
    seeds = document.get("seeds") or []
    summaries = {n: r["summary"] for n, r in document["models"].items()}
    lines = [f"# UMDF and SDUMC on {dataset.get('name', 'dataset')}", ""]
    facts = [
        f"split {dataset.get('split', '?')} ({dataset.get('num_samples', '?')} clips)",
        f"{len(seeds)} seed(s) {', '.join(map(str, seeds))}",
        "pseudo text: " + ("yes" if config.get("pseudo_text") else "no"),
    ]
    facts += [f"{k} {v}" for k, v in settings.items()]
    lines += [
        "; ".join(facts) + ".",
        "",
        "MAE (lower is better) / F1 (Non0 F1: positive against negative, neutral "
        "clips left out; higher is better, in %), mean ± std over the seeds. "
        "Avg. is the mean of the six incomplete conditions; text_missing keeps "
        "audio, vision and the pseudo text.",
        "",
        markdown_table(
            with_baseline_row(summaries, document.get("baseline")),
            metrics=tuple(COMPARED_METRICS),
        ),
        "",
    ]
    if document.get("baseline"):
        lines += [document["baseline"]["description"], ""]
    lines += [
        "## Which wins",
        "",
    ]
    for condition, by_metric in document["winners"].items():
        parts = []
        for metric, winner in by_metric.items():
            values = ", ".join(
                f"{n} {format_metric(s[condition], metric)}"
                for n, s in summaries.items()
            )
            parts.append(f"{metric_label(metric)}: **{winner}** ({values})")
        lines.append(f"- {format_condition(condition)}: " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def comparison_command(args, seeds: Sequence[int]) -> int:
    """`keras-umdf reproduce --models umdf,sdumc`: the comparison from the
    command line's arguments (synthetic data gets a pseudo-text stream)."""
    from keras_umdf.cli.dataset_options import load_dataset_from_args
    from keras_umdf.cli.dataset_options import training_settings
    from keras_umdf.cli.run_options import data_config
    from keras_umdf.cli.run_options import parse_conditions
    from keras_umdf.cli.run_options import verbosity
    from keras_umdf.data import synthetic
    from keras_umdf.data.readers import SYNTHETIC_NAMES

    models = parse_models(args.models)
    if getattr(args, "distribute", "none") not in (None, "none"):
        raise ValueError(
            f"--distribute {args.distribute}: the UMDF/SDUMC comparison trains on "
            "one device; leave --distribute out."
        )
    conditions = list(parse_conditions(args.conditions))
    if TEXT_MISSING not in conditions:
        conditions.append(TEXT_MISSING)
    name = args.dataset.lower()
    if name in SYNTHETIC_NAMES and args.format in (None, "synthetic"):
        if not 0.0 < args.scale <= 1.0:
            raise ValueError(f"--scale must be in (0, 1]; received {args.scale}.")
        data = synthetic(name, seed=args.data_seed, scale=args.scale, pseudo_text=True)
    else:
        data = load_dataset_from_args(args)
    settings = training_settings(args, data)
    print(
        f"comparing {', '.join(models)} on {data.name} with {len(seeds)} seeds; "
        + ", ".join(f"{k} {v}" for k, v in settings.items())
    )
    document = compare_missing_text(
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
    print(comparison_markdown(document))
    return 0


def _train_sdumc(data, unit_dir, settings, seed, train_samples, verbose):
    """Trains (or, when its `model.keras` exists, loads) one SDUMC unit."""
    import keras_umdf

    model_path = os.path.join(unit_dir, "model.keras")
    if os.path.exists(model_path):
        return keras.saving.load_model(model_path)
    os.makedirs(unit_dir, exist_ok=True)
    split = data["train"]
    if train_samples:
        split = split.subset(range(min(train_samples, split.num_samples)))
    keras.utils.set_random_seed(seed)
    model = keras_umdf.SDUMC.for_dataset(
        data,
        hidden_dim=settings["hidden_dim"],
        num_heads=settings["num_heads"],
        num_layers=settings["num_layers"],
    )
    model.compile(
        optimizer=optimizers.adam(
            settings["learning_rate"],
            settings.get("warmup_steps", optimizers.WARMUP_STEPS),
        ),
        metrics=task_keras_metrics(data),
    )
    batches = _all_stream_batches(split, settings["batch_size"], seed)
    model.fit(batches, epochs=int(settings["epochs"]), verbose=verbose)
    temporary = os.path.join(unit_dir, "model.tmp.keras")
    model.save(temporary)
    os.replace(temporary, model_path)
    return model


def _all_stream_batches(split, batch_size: int, seed: int):
    """Shuffled one-view batches with every stream present (SDUMC's training
    input): the tf.data pipeline, or `MaskedPyDataset` without TensorFlow."""
    kwargs = dict(
        training=False,
        shuffle=True,
        condition=ALL_STREAMS,
        batch_size=batch_size,
        seed=seed,
    )
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        from keras_umdf.data import MaskedPyDataset

        return MaskedPyDataset(split, **kwargs)
    from keras_umdf.data import make_dataset

    return make_dataset(split, **kwargs)


def _metrics_from_json(results: Mapping) -> dict:
    """A unit's results read back: JSON null metrics become NaN."""
    return {
        condition: {k: float("nan") if v is None else v for k, v in metrics.items()}
        for condition, metrics in results.items()
    }
