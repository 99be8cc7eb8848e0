"""The paper's experiments for one dataset: seeds x variants x (conditions, curves).

`reproduce` trains every (variant, seed) unit into its own run directory,
evaluates it with the whole protocol, and keeps the unit's results on disk, so an
interrupted reproduction skips the finished units and resumes the unfinished one
where its training stopped. When every unit is done it writes:

- `results.json` / `results.md`: Table 1 (or Table 2 for IEMOCAP) for every
  variant, Table 3 (the ablations' F1), the frame-drop curves, mean ± std over
  the seeds (`keras_umdf.evaluation.report`), each table ending with the row
  of predicting the training mean (`mean_baseline`);
- `figures/frame_drop.png` (Figures 3-4: the full model against plain
  training), `figures/ablation_frame_drop.png` (Figure 5: every variant) and
  `figures/tsne.png` (Figure 6: the full model's joint representations under
  {l} at p = 0.5), when matplotlib is installed.

Each unit keeps the epoch with the best validation task metric (`train_model`'s
`select_epoch`), and a unit whose complete-condition test predictions look
collapsed gets a `ModelCollapseWarning`.

Directory layout: `run.json`, `runs/<variant>/seed-<s>/` (a `train_model` run
plus `evaluation.json`), the results and `figures/`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence

from keras_umdf.evaluation.joint_representations import TSNE_CONDITION
from keras_umdf.evaluation.joint_representations import TSNE_DROP_RATE
from keras_umdf.evaluation.joint_representations import joint_representations
from keras_umdf.evaluation.json_results import protocol_results_from_json
from keras_umdf.evaluation.mean_baseline import mean_baseline
from keras_umdf.evaluation.plots import matplotlib_available
from keras_umdf.evaluation.protocol import FRAME_DROP_RATES
from keras_umdf.evaluation.protocol import evaluate_protocol
from keras_umdf.evaluation.report import results_document
from keras_umdf.evaluation.report import write_results
from keras_umdf.evaluation.task_metrics import headline_metrics
from keras_umdf.evaluation.task_metrics import task_kind
from keras_umdf.experiments.best_epoch import check_select_epoch
from keras_umdf.experiments.experiment_units import UNIT_RESULTS
from keras_umdf.experiments.experiment_units import check_seeds
from keras_umdf.experiments.experiment_units import run_units
from keras_umdf.experiments.run_directory import RunDirectory
from keras_umdf.experiments.training_run import RECORDED_DEFAULTS
from keras_umdf.experiments.training_run import train_model
from keras_umdf.experiments.training_settings import default_settings
from keras_umdf.experiments.training_settings import training_p_max
from keras_umdf.experiments.training_settings import training_split
from keras_umdf.experiments.variants import VARIANT_NAMES
from keras_umdf.experiments.variants import variant_arguments
from keras_umdf.experiments.variants import variant_slug
from keras_umdf.modalities import CONDITIONS
from keras_umdf.models.umdf import UMDF

__all__ = ["DEFAULT_SEEDS", "UNIT_RESULTS", "reproduce"]

DEFAULT_SEEDS = (0, 1, 2, 3, 4)
"""The paper averages five seeds."""


def reproduce(
    data,
    directory,
    *,
    settings: Mapping | None = None,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    variants: Sequence[str] = VARIANT_NAMES,
    model_arguments: Mapping | None = None,
    conditions: Sequence[str] = CONDITIONS,
    rates: Sequence[float] | None = FRAME_DROP_RATES,
    curve_condition: str = "lav",
    split: str = "test",
    eval_batch_size: int = 128,
    train_samples: int = 0,
    select_epoch: str = "best",
    overwrite: bool = False,
    figures: bool = True,
    validate: bool = True,
    verbose="auto",
    distribute: str | None = None,
    data_config: Mapping | None = None,
    progress: Callable[[str], None] | None = print,
) -> dict:
    """Trains and evaluates every variant with every seed; resumable.

    Args:
        data: a `MultimodalDataset` with "train" and the test `split`.
        directory: the reproduction's directory: new, empty, or an unfinished
            reproduction of the same configuration (resumed).
        settings: training settings (default the paper's for the dataset).
        seeds: training (and evaluation-mask) seeds; the tables show mean ±
            std over them.
        variants: names from `keras_umdf.experiments.VARIANTS`.
        model_arguments: `UMDF` arguments shared by every variant, e.g.
            `{"lambda_logits": 0.1}`; a variant's own arguments override them
            (so "w/o distillation" keeps both lambdas at 0).
        conditions: inter-modality test conditions.
        rates: frame-drop rates of the curves (None: no curves).
        curve_condition: the modalities present along the curves.
        split: the split to test on.
        eval_batch_size: evaluation batch size.
        train_samples: train on the first N clips (0: all).
        select_epoch: which epoch each unit keeps: "best" (by the validation
            task metric; the last without validation) or "last" (see
            `train_model`).
        overwrite: replace an earlier reproduction in `directory`.
        figures: draw the PNG figures (needs matplotlib; skipped with a note
            when it is missing).
        validate: report validation metrics every epoch.
        verbose: `fit`'s verbosity.
        distribute: distribution strategy name (see `train_model`).
        data_config: how the data was named, recorded in the configuration.
        progress: receives one line per step (unit started, skipped, condition
            evaluated, files written).

    Returns:
        The results document (as written to `results.json`).

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosi")
    reproduce(data, "repro/mosi", seeds=(0, 1), variants=("UMDF", "w/o L_fea"))
    ```
    """
    say = progress or (lambda line: None)
    settings = {**default_settings(data), **dict(settings or {})}
    training_p_max(settings)
    seeds = check_seeds(seeds)
    variants = list(variants)
    for name in variants:
        variant_arguments(name)
    shared_arguments = _checked_model_arguments(model_arguments)
    select_epoch = check_select_epoch(select_epoch)
    kind = task_kind(data)
    label_names = data.label_names if kind == "multi_label" else None
    config = {
        "data": dict(data_config or {"name": getattr(data, "name", "dataset")}),
        "settings": settings,
        "seeds": seeds,
        "variants": variants,
        "conditions": list(conditions),
        "rates": list(rates or []),
        "curve_condition": curve_condition,
        "split": split,
        "train_samples": int(train_samples),
        "distribute": distribute or "none",
        "select_epoch": select_epoch,
    }
    if shared_arguments:
        # Only when given, so that reproductions started before this key existed
        # still resume.
        config["model_arguments"] = shared_arguments
    run = RunDirectory(directory, "reproduce")
    status = run.prepare(
        config, overwrite=overwrite, recorded_defaults=RECORDED_DEFAULTS
    )
    if status == "resume":
        say(f"{run.path}: resuming the reproduction")
    test_split = data[split]
    baseline = mean_baseline(
        training_split(data, train_samples).labels,
        test_split.labels,
        kind,
        label_names=label_names,
    )
    tsne_model = None  # Figure 6's model, when this call trains it.

    def train(name, seed, unit_dir):
        nonlocal tsne_model
        trained = train_model(
            data,
            unit_dir,
            settings=settings,
            seed=seed,
            model_arguments={**shared_arguments, **variant_arguments(name)},
            train_samples=train_samples,
            reuse_finished=True,
            validate=validate,
            select_epoch=select_epoch,
            verbose=verbose,
            distribute=distribute,
            data_config=config["data"],
            progress=say,
        )
        if name == variants[0] and seed == seeds[0]:
            tsne_model = trained.model
        return trained.model

    def evaluate(model, **kwargs):
        return evaluate_protocol(
            model,
            test_split,
            conditions=conditions,
            rates=rates,
            curve_condition=curve_condition,
            batch_size=eval_batch_size,
            label_names=label_names,
            **kwargs,
        )

    results = run_units(
        run,
        variants,
        seeds,
        slug=variant_slug,
        train=train,
        evaluate=evaluate,
        read_back=protocol_results_from_json,
        test_split=test_split,
        split_name=split,
        baseline_metrics=baseline["metrics"],
        batch_size=eval_batch_size,
        label_names=label_names,
        say=say,
    )
    document = results_document(
        results,
        kind=kind,
        dataset={
            "name": getattr(data, "name", "dataset"),
            "split": split,
            "num_samples": test_split.num_samples,
        },
        config=config,
        label_names=label_names,
        baseline=baseline,
    )
    paths = write_results(document, run.path, overwrite=True)
    say(f"wrote {paths[0]} and {paths[1]}")
    if figures:
        for path in _draw_figures(
            document, run, data, test_split, kind, tsne_model, eval_batch_size, say
        ):
            say(f"wrote {path}")
    run.mark_finished()
    return document


def _draw_figures(document, run, data, test_split, kind, model, batch_size, say):
    """Figures 3-6 as PNG files; returns the paths written."""
    if not matplotlib_available():
        say('matplotlib is not installed: no figures (pip install "keras-umdf[plots]")')
        return []
    from keras_umdf.evaluation.plots import plot_frame_drop_curves
    from keras_umdf.evaluation.plots import plot_tsne

    label_names = document.get("label_names")
    metrics = headline_metrics(kind, label_names=label_names)
    summaries = {n: r["summary"] for n, r in document["runs"].items()}
    curves = {n: s["frame_drop"] for n, s in summaries.items() if "frame_drop" in s}
    written = []
    name = document["dataset"].get("name", "")
    if curves:
        main = {n: c for n, c in curves.items() if n in ("UMDF", "w/o distillation")}
        written.append(
            plot_frame_drop_curves(
                main or curves,
                run.file("figures", "frame_drop.png"),
                metrics=metrics,
                title=f"{name}: missing rate p (Figures 3-4)",
                overwrite=True,
            )
        )
        if len(curves) > 1:
            written.append(
                plot_frame_drop_curves(
                    curves,
                    run.file("figures", "ablation_frame_drop.png"),
                    metrics=metrics,
                    title=f"{name}: ablations (Figure 5)",
                    overwrite=True,
                )
            )
    first = next(iter(document["runs"]))
    if model is None:
        from keras_umdf.experiments.model_file import load_umdf_model

        seed = document["seeds"][0]
        path = run.file("runs", variant_slug(first), f"seed-{seed}", "model.keras")
        model = load_umdf_model(path)
    features = joint_representations(model, test_split, batch_size=batch_size)
    labels = test_split.labels
    if labels.ndim == 2:  # multi-label: coloured by the first emotion present
        labels = labels.argmax(axis=1)
    written.append(
        plot_tsne(
            features,
            labels,
            run.file("figures", "tsne.png"),
            title=f"{name}: {first}, joint representations, "
            f"{{{TSNE_CONDITION}}} with p = {TSNE_DROP_RATE} (Figure 6)",
            overwrite=True,
            class_names=label_names,
        )
    )
    return written


def _checked_model_arguments(model_arguments) -> dict:
    """The shared `UMDF` arguments, refused early if `UMDF` has no such argument."""
    arguments = dict(model_arguments or {})
    accepted = set(inspect.signature(UMDF.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(arguments) - accepted)
    if unknown:
        raise ValueError(
            f"model_arguments has {unknown}, which UMDF does not take; received "
            f"model_arguments={arguments!r}. Use UMDF's constructor arguments, e.g. "
            "{'lambda_logits': 0.1}."
        )
    return arguments
