"""A trained model through the paper's test protocol, with its report on disk.

`evaluate_and_report` tests a model under the conditions and along the
frame-drop curve, prints one line per point and the table, writes
`results.json` / `results.md` (the table ends with the constant baseline's
row) and the figures, and warns (`ModelCollapseWarning`) when the complete
condition's predictions look collapsed. `keras-umdf train` runs it after
training; `evaluate_saved_model` runs it for a saved model as a run of its own
(`keras-umdf evaluate`): a directory with `run.json`, resumed or refused like a
training run's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence

from keras_umdf.evaluation.collapse import check_model_for_collapse
from keras_umdf.evaluation.joint_representations import joint_representations
from keras_umdf.evaluation.mean_baseline import mean_baseline
from keras_umdf.evaluation.plots import matplotlib_available
from keras_umdf.evaluation.plots import plot_frame_drop_curves
from keras_umdf.evaluation.plots import plot_tsne
from keras_umdf.evaluation.protocol import FRAME_DROP_RATES
from keras_umdf.evaluation.protocol import evaluate_protocol
from keras_umdf.evaluation.report import results_document
from keras_umdf.evaluation.report import results_markdown
from keras_umdf.evaluation.report import write_results
from keras_umdf.evaluation.task_metrics import headline_metrics
from keras_umdf.evaluation.task_metrics import task_kind
from keras_umdf.experiments.run_directory import RunDirectory
from keras_umdf.modalities import CONDITIONS


def evaluate_and_report(
    model,
    data,
    directory,
    *,
    run_name: str,
    seed: int = 0,
    conditions: Sequence[str] = CONDITIONS,
    split: str = "test",
    rates: Sequence[float] | None = FRAME_DROP_RATES,
    curve_condition: str = "lav",
    batch_size: int = 128,
    tsne: bool = False,
    config: Mapping | None = None,
    baseline_split,
    baseline_source: str = "train",
    progress: Callable[[str], None] | None = print,
) -> dict:
    """Runs the protocol on one split of `data` and writes the report.

    Prints (through `progress`) one line per condition and curve point, then
    the table, with the constant baseline's row from `baseline_split`'s labels;
    writes `results.json` / `results.md` into `directory`, and
    `figures/frame_drop.png` (with a curve) and `figures/tsne.png` (with
    `tsne`) when matplotlib is installed; warns (`ModelCollapseWarning`) when
    the model's complete-condition predictions look collapsed.

    Args:
        model: a trained `UMDF`.
        data: the `MultimodalDataset` holding `split`.
        directory: where the report goes (created if missing; the report's
            files are replaced).
        run_name: the model's row in the tables.
        seed: seed of the evaluation masks.
        conditions: the inter-modality conditions (empty: none).
        split: the split to test on.
        rates: the frame-drop rates of the curve (None: no curve).
        curve_condition: the modalities present along the curve.
        batch_size: evaluation batch size.
        tsne: also draw the t-SNE of the joint representations (Figure 6).
        config: the configuration recorded in the results document.
        baseline_split: the `Split` whose labels give the constant baseline
            (the training clips).
        baseline_source: its name, shown in the baseline's row.
        progress: receives each line of output.

    Returns:
        The results document.

    Raises:
        ValueError: neither conditions nor rates were asked for.
    """
    say = progress or (lambda line: None)
    test_split = data[split]
    kind = task_kind(model)
    label_names = data.label_names if kind == "multi_label" else None
    if not conditions and not rates:
        raise ValueError(
            "Nothing to evaluate: no conditions and no frame-drop rates; ask for "
            "conditions or the curve."
        )
    say(f"evaluating on {data.name} {split} ({test_split.num_samples} samples)")
    complete = {}
    # A fresh prediction function: TensorFlow retraces `predict` with relaxed
    # shapes after calls on other splits (the collapse check predicts on
    # validation), and a relaxed trace may sum in another order. Starting
    # fresh, the report of a model evaluated right after training equals the
    # report of the same model loaded in a new process (to the last bit).
    model.make_predict_function(force=True)
    results = evaluate_protocol(
        model,
        test_split,
        conditions=conditions,
        rates=rates,
        curve_condition=curve_condition,
        batch_size=batch_size,
        seed=seed,
        label_names=label_names,
        progress=say,
        on_predictions=lambda condition, outputs: complete.setdefault(
            condition, outputs
        ),
    )
    baseline = mean_baseline(
        baseline_split.labels,
        test_split.labels,
        kind,
        label_names=label_names,
        source=baseline_source,
    )
    document = results_document(
        {run_name: {seed: results}},
        kind=kind,
        dataset={
            "name": data.name,
            "split": split,
            "num_samples": test_split.num_samples,
        },
        config=config,
        label_names=label_names,
        baseline=baseline,
    )
    json_path, md_path = write_results(document, directory, overwrite=True)
    say("")
    say(results_markdown(document))
    check_model_for_collapse(
        model,
        test_split,
        baseline["metrics"],
        predictions=complete.get(CONDITIONS[-1]),
        split_name=split,
        batch_size=batch_size,
        seed=seed,
        label_names=label_names,
    )
    written = [json_path, md_path]
    if "frame_drop" in results or tsne:
        if matplotlib_available():
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
            if tsne:
                labels = test_split.labels
                if labels.ndim == 2:
                    labels = labels.argmax(axis=1)
                written.append(
                    plot_tsne(
                        joint_representations(
                            model, test_split, batch_size=batch_size, seed=seed
                        ),
                        labels,
                        os.path.join(figures, "tsne.png"),
                        title=f"{data.name}: joint representations, {{l}}, p = 0.5",
                        overwrite=True,
                        class_names=label_names,
                    )
                )
        else:
            say(
                '(no figures: matplotlib is not installed; pip install "keras-umdf[plots]")'
            )
    say("wrote " + ", ".join(written))
    return document


def evaluate_saved_model(
    model,
    data,
    directory,
    *,
    model_path,
    data_config: Mapping | None = None,
    seed: int = 0,
    conditions: Sequence[str] = CONDITIONS,
    split: str = "test",
    rates: Sequence[float] | None = FRAME_DROP_RATES,
    curve_condition: str = "lav",
    batch_size: int = 128,
    tsne: bool = False,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = print,
) -> dict:
    """Evaluates a saved model as a run of its own (`keras-umdf evaluate`).

    The directory is prepared like a training run's (`RunDirectory`: new,
    empty, an unfinished evaluation of the same configuration, or refused
    without `overwrite`), the report written by `evaluate_and_report` with the
    constant baseline from `baseline_split_name`'s split, and the run marked
    finished.

    Args:
        model: the loaded model (`load_umdf_model(model_path)`).
        data: the dataset to test on.
        directory: the evaluation's directory.
        model_path: the model's file: its name is the table's row, its path
            goes into the configuration.
        data_config: how the data was named, recorded in the configuration;
            default its name.
        seed, conditions, split, rates, curve_condition, batch_size, tsne,
            progress: as `evaluate_and_report`.
        overwrite: replace an earlier evaluation in `directory`.

    Returns:
        The results document.
    """
    config = {
        "model": os.path.abspath(model_path),
        "data": dict(data_config or {"name": getattr(data, "name", "dataset")}),
        "conditions": list(conditions),
        "curves": bool(rates),
        "curve_condition": curve_condition,
        "split": split,
        "seed": seed,
        "tsne": tsne,
    }
    run = RunDirectory(directory, "evaluate")
    run.prepare(config, overwrite=overwrite, inputs=(model_path,))
    baseline_source = baseline_split_name(data, split)
    document = evaluate_and_report(
        model,
        data,
        directory,
        run_name=os.path.splitext(os.path.basename(model_path))[0],
        seed=seed,
        conditions=conditions,
        split=split,
        rates=rates,
        curve_condition=curve_condition,
        batch_size=batch_size,
        tsne=tsne,
        config={"model": config["model"], "model_config": _model_config(model)},
        baseline_split=data[baseline_source],
        baseline_source=baseline_source,
        progress=progress,
    )
    run.mark_finished()
    return document


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
