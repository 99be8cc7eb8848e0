"""The results of a search: a table of all trials, the best model, a picture.

`write_results` writes into the search directory:

- `results.json`: the objective, the best trial (its hyper-parameters and the
  UMDF arguments that rebuild it) and every trial;
- `results.md`: the same trials as a Markdown table, best first;
- `best_model.keras`: the best trial's model at its best epoch
  (`keras.saving.load_model` after `import keras_umdf`);
- `objective.png`: the objective over (lambda_fea, lambda_logits).

They are rewritten from the trials each time a search (or its resumption)
finishes; the trials themselves are never touched.
"""

from __future__ import annotations

import json
import math
import os
import re

from tuning.hypermodel import lambda_values
from tuning.tuners import WORKER_FILE

RESULTS_JSON = "results.json"
RESULTS_MARKDOWN = "results.md"
BEST_MODEL = "best_model.keras"
OBJECTIVE_PLOT = "objective.png"
RESULT_FILES = (RESULTS_JSON, RESULTS_MARKDOWN, BEST_MODEL, OBJECTIVE_PLOT)

PLOTS_HINT = 'pip install "keras-umdf[plots]"'
_FIXED_COLUMNS = ("learning_rate", "hidden_dim", "num_layers")


def trial_records(tuner) -> list[dict]:
    """One plain dict per trial of `tuner`'s oracle, in trial-id order.

    Keys: "trial_id", "status" (KerasTuner's: COMPLETED, FAILED, RUNNING, ...),
    "score" (the objective at the best epoch; None unless completed),
    "best_epoch" (1-based, counting the epochs of the trial a Hyperband trial
    continues), "lambda_fea" and "lambda_logits" (0.0 when
    switched off), "learning_rate", "hidden_dim", "num_layers", "epochs"
    (Hyperband's budget for the trial, else None), "metrics" (every logged
    metric at the best epoch), "worker" (the tuner id that ran it, from its
    `worker.json`), "hyperparameters" (KerasTuner's raw values), "message" (the
    error's last line for a failed trial).
    """
    records = []
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: _id_key(t.trial_id))
    for trial in trials:
        values = dict(trial.hyperparameters.values)
        metrics = {}
        for name in sorted(trial.metrics.metrics):
            value = trial.metrics.get_last_value(name)
            metrics[name] = None if value is None else float(value)
        completed = trial.status == "COMPLETED" and trial.score is not None
        message = None
        if trial.message:
            lines = [line for line in str(trial.message).splitlines() if line.strip()]
            message = _exception_text(lines[-1]) if lines else None
        record = {
            "trial_id": trial.trial_id,
            "status": trial.status,
            "score": float(trial.score) if completed else None,
            # KerasTuner counts the epochs of a Hyperband trial that continues
            # another from that trial's last epoch.
            "best_epoch": (
                int(trial.best_step) + 1 + int(values.get("tuner/initial_epoch", 0))
                if completed
                else None
            ),
            **lambda_values(values),
            **{name: values.get(name) for name in _FIXED_COLUMNS},
            "epochs": values.get("tuner/epochs"),
            "metrics": metrics,
            "worker": _worker(tuner, trial.trial_id),
            "hyperparameters": values,
            "message": message,
        }
        records.append(record)
    return records


def rank_records(records: list[dict], direction: str) -> list[dict]:
    """Completed trials best first (ties by trial id), then the others."""
    done = [r for r in records if r["score"] is not None and math.isfinite(r["score"])]
    sign = -1.0 if direction == "max" else 1.0
    done.sort(key=lambda r: (sign * r["score"], _id_key(r["trial_id"])))
    rest = [r for r in records if r not in done]
    return done + rest


def write_results(
    tuner, directory: str, *, hypermodel, tuner_name: str, save_model: bool = True
) -> dict:
    """Writes results.json, results.md, best_model.keras and objective.png.

    Args:
        tuner: the tuner after its search (on the chief, for a distributed
            search).
        directory: the search directory.
        hypermodel: the search's `UMDFHyperModel`.
        tuner_name: "random", "bayesian" or "hyperband".
        save_model: whether to save the best model.

    Returns:
        The contents of results.json, with "files" added: name -> path of
        each file written (the picture is missing when matplotlib is not
        installed; "notes" says why).
    """
    objective = hypermodel.objective
    records = rank_records(trial_records(tuner), objective.direction)
    best = records[0] if records and records[0]["score"] is not None else None
    notes = []
    files = {}
    summary = {
        "objective": objective.to_dict(),
        "tuner": tuner_name,
        "num_trials": len(records),
        "num_completed": sum(r["score"] is not None for r in records),
        "best": None,
        "trials": records,
    }
    if best is not None:
        hp = _trial_hyperparameters(tuner, best["trial_id"])
        arguments = hypermodel.model_arguments(hp.copy())
        summary["best"] = {
            "trial_id": best["trial_id"],
            "score": best["score"],
            "lambda_fea": best["lambda_fea"],
            "lambda_logits": best["lambda_logits"],
            "learning_rate": arguments.pop("learning_rate"),
            "model_arguments": arguments,
        }
        if save_model:
            path = os.path.join(directory, BEST_MODEL)
            try:
                model = tuner.load_model(tuner.oracle.get_trial(best["trial_id"]))
            except (OSError, ValueError) as error:
                notes.append(
                    f"best_model.keras not written: the checkpoint of trial "
                    f"{best['trial_id']} could not be loaded ({error}). In a "
                    "distributed search every process must share the directory."
                )
            else:
                model.save(path)
                files["best_model"] = path
    else:
        notes.append("No trial completed, so there is no best model.")
    path = os.path.join(directory, RESULTS_MARKDOWN)
    with open(path, "w", encoding="utf-8") as file:
        file.write(markdown_table(records, objective))
    files["markdown"] = path
    path = os.path.join(directory, OBJECTIVE_PLOT)
    try:
        plot_objective(records, objective, path, hypermodel.search_space)
    except ImportError as error:
        notes.append(str(error))
    else:
        files["plot"] = path
    summary["notes"] = notes
    path = os.path.join(directory, RESULTS_JSON)
    files["json"] = path
    with open(path, "w", encoding="utf-8") as file:
        json.dump(_jsonable(summary), file, indent=2)
    summary["files"] = files
    return summary


def markdown_table(records: list[dict], objective) -> str:
    """All trials as a Markdown table, best first; failed trials last."""
    records = rank_records(records, objective.direction)
    metric_names = sorted(
        {name for r in records for name in r["metrics"] if name.startswith("val_")}
        - {objective.name, "val_loss"}
    )
    better = "lower" if objective.direction == "min" else "higher"
    header = ["rank", "trial", "status", "lambda_fea", "lambda_logits"]
    header += list(_FIXED_COLUMNS)
    show_epochs = any(r["epochs"] is not None for r in records)
    if show_epochs:
        header.append("epochs")
    header += [f"**{objective.name}** ({better} is better)", "best epoch"]
    header += metric_names + ["worker"]
    lines = [
        f"Objective: {objective.name} ({better} is better), {len(records)} trials.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    rank = 0
    for record in records:
        completed = record["score"] is not None
        rank += completed
        cells = [
            str(rank) if completed else "-",
            record["trial_id"],
            record["status"].lower(),
            _lambda_cell(record["lambda_fea"]),
            _lambda_cell(record["lambda_logits"]),
        ]
        cells += [_number(record[name]) for name in _FIXED_COLUMNS]
        if show_epochs:
            cells.append(_number(record["epochs"]))
        cells.append(_number(record["score"]))
        cells.append(_number(record["best_epoch"]))
        cells += [_number(record["metrics"].get(name)) for name in metric_names]
        cells.append(record["worker"] or "")
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in records if r["message"] and r["score"] is None]
    if failed:
        lines.append("")
        for record in failed:
            lines.append(f"- trial {record['trial_id']}: {record['message']}")
    return "\n".join(lines) + "\n"


def plot_objective(records: list[dict], objective, path: str, search_space=None):
    """Saves a scatter plot of the objective over (lambda_fea, lambda_logits).

    Both axes are logarithmic; a weight switched off (0) is drawn at the
    "0 (off)" tick left of / below the searched range. The colour is the
    objective (the better, the brighter), the star marks the best trial, and
    grey crosses mark failed trials.

    Raises:
        ImportError: matplotlib is not installed (the message says how to
            install it).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            f"objective.png needs matplotlib: {PLOTS_HINT}. The other results "
            "were written."
        ) from None
    import numpy as np

    positive = [
        r[name]
        for r in records
        for name in ("lambda_fea", "lambda_logits")
        if r[name] and r[name] > 0
    ]
    bounds = []
    if search_space is not None:
        bounds = [*search_space.lambda_fea, *search_space.lambda_logits]
    low = min(positive + bounds, default=0.01)
    high = max(positive + bounds, default=10.0)
    off = low / 10.0

    def position(value):
        return off if not value else value

    ranked = rank_records(records, objective.direction)
    done = [r for r in ranked if r["score"] is not None]
    failed = [r for r in ranked if r["score"] is None]
    figure = Figure(figsize=(6.4, 5.0))
    axes = figure.add_subplot(1, 1, 1)
    if done:
        scores = np.array([r["score"] for r in done])
        points = axes.scatter(
            [position(r["lambda_fea"]) for r in done],
            [position(r["lambda_logits"]) for r in done],
            c=scores,
            cmap="viridis_r" if objective.direction == "min" else "viridis",
            s=60,
            edgecolors="black",
            linewidths=0.5,
            zorder=3,
        )
        better = "lower" if objective.direction == "min" else "higher"
        figure.colorbar(points, ax=axes, label=f"{objective.name} ({better} is better)")
        best = done[0]
        axes.scatter(
            [position(best["lambda_fea"])],
            [position(best["lambda_logits"])],
            marker="*",
            s=320,
            facecolors="none",
            edgecolors="red",
            linewidths=1.5,
            zorder=4,
            label=f"best: trial {best['trial_id']} ({best['score']:.4g})",
        )
    if failed:
        axes.scatter(
            [position(r["lambda_fea"]) for r in failed],
            [position(r["lambda_logits"]) for r in failed],
            marker="x",
            color="grey",
            s=50,
            zorder=2,
            label="failed",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(off / 2.0, high * 2.0)
    axes.set_ylim(off / 2.0, high * 2.0)
    ticks = [off] + [10.0**k for k in range(math.ceil(math.log10(low)), 10)]
    ticks = [t for t in ticks if t <= high * 2.0]
    labels = ["0 (off)"] + [f"{t:g}" for t in ticks[1:]]
    axes.set_xticks(ticks, labels)
    axes.set_yticks(ticks, labels)
    axes.minorticks_off()
    axes.axvline(np.sqrt(off * low), color="lightgrey", linewidth=0.8)
    axes.axhline(np.sqrt(off * low), color="lightgrey", linewidth=0.8)
    axes.set_xlabel("lambda_fea (λ1, feature distillation)")
    axes.set_ylabel("lambda_logits (λ2, logits distillation)")
    axes.set_title(f"{objective.name} of {len(records)} trials")
    if done or failed:
        axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _trial_hyperparameters(tuner, trial_id):
    return tuner.oracle.get_trial(trial_id).hyperparameters


def _worker(tuner, trial_id) -> str | None:
    path = os.path.join(tuner.project_dir, f"trial_{trial_id}", WORKER_FILE)
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file).get("tuner_id")
    except (OSError, ValueError):
        return None


def _exception_text(line: str) -> str:
    """'keras_tuner.src.errors.FailedTrialError: text' -> 'FailedTrialError: text'."""
    return re.sub(r"^(?:[A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*: )", "", line.strip())


def _id_key(trial_id: str):
    return (0, int(trial_id), "") if str(trial_id).isdigit() else (1, 0, trial_id)


def _lambda_cell(value) -> str:
    return "0 (off)" if not value else _number(value)


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def _jsonable(value):
    """NaN and infinity are not JSON: write them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
