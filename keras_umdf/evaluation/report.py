"""Results laid out like the paper's tables, as Markdown and as JSON.

A results document is the JSON-ready record of one evaluation: which data, which
configuration and seeds, the package and backend versions, and per run (the full
model, an ablation) the protocol's results per seed and their mean and std over
seeds. `write_results` writes it as `<stem>.json` and `<stem>.md`:

- Table 1 layout (MOSI, MOSEI): one row per model, columns {l}, {a}, {v},
  {l,a}, {l,v}, {a,v}, Avg., {l,a,v}, each cell "MAE / F1" where F1 is the
  weighted F1 of positive against negative sentiment with the neutral (label 0)
  clips left out ("Non0 F1", MMSA's `F1_score`), in percent;
- Table 2 layout (IEMOCAP): one row per emotion per model, the emotion's
  weighted F1 of absent/present in percent;
- Table 3 layout (ablations): one row per variant, the F1 alone;
- the frame-drop curves of Figures 3-5 as a table (p = 0.0 ... 1.0).

Every table ends with the row of a model that ignores its inputs and predicts
the training mean (or majority), scored the same way (`mean_baseline`), when
the document holds one: a collapsed model cannot pass for a trained one.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import sys
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.evaluation.mean_baseline import with_baseline_row
from keras_umdf.evaluation.seed_aggregation import aggregate_seeds
from keras_umdf.evaluation.task_metrics import TASK_KINDS
from keras_umdf.evaluation.task_metrics import headline_metrics
from keras_umdf.evaluation.task_metrics import summary_metric
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import INCOMPLETE_CONDITIONS

TABLE_COLUMNS = (*INCOMPLETE_CONDITIONS, "avg", CONDITIONS[-1])
"""The columns of Tables 1-3: the six incomplete conditions, Avg., complete."""

PAPER_EMOTION_ORDER = ("happy", "sad", "angry", "neutral")
"""The order of the emotions in the paper's Table 2 and Figure 4."""

RESULTS_FORMAT = 1
"""Version of the JSON results layout (`"keras_umdf_results"` in the file)."""

_METRIC_NAMES = {
    "mae": "MAE",
    "corr": "Corr",
    "acc7": "Acc-7",
    "acc5": "Acc-5",
    "has0_acc2": "Has0 Acc-2",
    "has0_f1": "Has0 F1",
    "non0_acc2": "Acc-2",
    "non0_f1": "F1",
    "accuracy": "Acc",
    "weighted_f1": "F1",
    "mean_acc": "mean Acc",
    "mean_f1": "mean F1",
}
_UNSCALED = ("mae", "corr")


def format_condition(condition: str) -> str:
    """The paper's heading of a condition: "la" -> "{l,a}", "avg" -> "Avg."."""
    if condition == "avg":
        return "Avg."
    if set(condition) <= set("lav"):
        return "{" + ",".join(condition) + "}"
    return condition


def metric_label(metric: str) -> str:
    """A short display name: "mae" -> "MAE", "non0_f1" -> "F1",
    "happy_f1" -> "Happy F1"."""
    if metric in _METRIC_NAMES:
        return _METRIC_NAMES[metric]
    for suffix, label in (("_f1", "F1"), ("_acc", "Acc")):
        if metric.endswith(suffix):
            return f"{metric[: -len(suffix)].capitalize()} {label}"
    return metric


def format_metric(
    metrics: Mapping[str, float] | None, metric: str, *, digits: int | None = None
) -> str:
    """One cell: MAE and Corr as they are (3 decimals), accuracies and F1 in
    percent (2 decimals), "± std" when the dict holds "<metric>_std"; "-" when
    the value is missing or NaN."""
    if not metrics or metric not in metrics:
        return "-"
    value = metrics[metric]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    scale = 1.0 if metric in _UNSCALED else 100.0
    if digits is None:
        digits = 3 if metric in _UNSCALED else 2
    text = f"{scale * value:.{digits}f}"
    std = metrics.get(f"{metric}_std")
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ± {scale * std:.{digits}f}"
    return text


def describe_metrics(
    metrics: Mapping[str, float],
    kind: str,
    *,
    label_names: Sequence[str] | None = None,
) -> str:
    """The headline metrics of a task as one line, e.g. "MAE 0.832, F1 82.92"."""
    return ", ".join(
        f"{metric_label(m)} {format_metric(metrics, m)}"
        for m in headline_metrics(kind, label_names=label_names)
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _columns(rows: Mapping[str, Mapping]) -> list[str]:
    columns = [c for c in TABLE_COLUMNS if any(c in r for r in rows.values())]
    others = []
    for results in rows.values():
        others += [c for c in results if c not in TABLE_COLUMNS and c not in others]
    return columns + others


def markdown_table(
    rows: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    metrics: Sequence[str] = ("mae", "non0_f1"),
) -> str:
    """A Markdown table in the layout of the paper's Table 1.

    Columns: {l}, {a}, {v}, {l,a}, {l,v}, {a,v}, Avg., {l,a,v} (those present);
    each cell holds the `metrics` joined by " / ", by default MAE and F1, the
    latter the weighted F1 of positive against negative sentiment with the
    neutral clips left out (MMSA's Non0 F1), in percent. Where a metrics dict
    holds "<metric>_std" (the std over seeds) the cell reads "mean ± std".

    Args:
        rows: row name (e.g. "UMDF") -> condition -> metrics dict.
        metrics: the metric keys in each cell, e.g. ("accuracy",
            "weighted_f1") for single-label classification.

    Returns:
        The table as Markdown text.

    Example:

    ```python
    print(markdown_table({"UMDF": evaluate_conditions(model, data["test"])}))
    ```
    """
    columns = _columns(rows)
    header = ["Model", *(format_condition(c) for c in columns)]
    units = ["", *([" / ".join(metric_label(m) for m in metrics)] * len(columns))]
    body = [units]
    for name, results in rows.items():
        cells = [
            " / ".join(format_metric(results.get(c), m) for m in metrics)
            for c in columns
        ]
        body.append([name, *cells])
    return _table(header, body)


def emotion_table(
    rows: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    label_names: Sequence[str] = IEMOCAP_EMOTIONS,
    metric: str = "f1",
) -> str:
    """A Markdown table in the layout of the paper's Table 2 (IEMOCAP).

    One row per emotion per model (Happy, Sad, Angry, Neutral as in the
    paper), columns the conditions as in Table 1, each
    cell the emotion's weighted F1 (of absent against present, as MulT
    computes it; the paper's Table 2 reports F1) in percent with one decimal.

    Args:
        rows: model name -> condition -> `multilabel_metrics` dict.
        label_names: the emotions, in the rows' order of the metrics.
        metric: "f1" or "acc": which per-emotion metric to show.

    Returns:
        The table as Markdown text.
    """
    columns = _columns(rows)
    header = ["Model", "Emotion", *(format_condition(c) for c in columns)]
    # The paper's row order (Happy, Sad, Angry, Neutral), then any other label.
    ordered = [e for e in PAPER_EMOTION_ORDER if e in label_names]
    ordered += [e for e in label_names if e not in ordered]
    body = []
    for name, results in rows.items():
        for i, emotion in enumerate(ordered):
            key = f"{emotion}_{metric}"
            cells = [format_metric(results.get(c), key, digits=1) for c in columns]
            body.append([name if i == 0 else "", emotion.capitalize(), *cells])
    return _table(header, body)


def single_metric_table(
    rows: Mapping[str, Mapping[str, Mapping[str, float]]], metric: str = "non0_f1"
) -> str:
    """A Markdown table in the layout of the paper's Table 3 (ablations): one
    row per model, one metric (by default the F1, in percent) per condition."""
    columns = _columns(rows)
    header = ["Model", *(format_condition(c) for c in columns)]
    body = [["", *([metric_label(metric)] * len(columns))]]
    for name, results in rows.items():
        body.append([name, *(format_metric(results.get(c), metric) for c in columns)])
    return _table(header, body)


def frame_drop_table(
    curves: Mapping[str, Mapping[float, Mapping[str, float]]],
    *,
    metrics: Sequence[str] = ("mae", "non0_f1"),
) -> str:
    """The frame-drop curves (Figures 3-5) as a Markdown table: one row per
    model and metric, one column per missing rate p."""
    rates = sorted({float(p) for curve in curves.values() for p in curve})
    header = ["Model", "Metric", *(f"p={p:.1f}" for p in rates)]
    body = []
    for name, curve in curves.items():
        by_rate = {float(p): values for p, values in curve.items()}
        for i, metric in enumerate(metrics):
            cells = [format_metric(by_rate.get(p), metric) for p in rates]
            body.append([name if i == 0 else "", metric_label(metric), *cells])
    return _table(header, body)


def environment_info() -> dict[str, str]:
    """Versions of keras_umdf, Keras, the backend in use, NumPy and Python."""
    import keras

    import keras_umdf

    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    backend_version = "unknown"
    if module and module in sys.modules:
        backend_version = getattr(sys.modules[module], "__version__", "unknown")
    return {
        "keras_umdf": keras_umdf.__version__,
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": backend_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def results_document(
    runs: Mapping[str, Mapping[int, Mapping]],
    *,
    kind: str,
    dataset: Mapping | None = None,
    config: Mapping | None = None,
    label_names: Sequence[str] | None = None,
    baseline: Mapping | None = None,
) -> dict:
    """The record of an evaluation, ready for `write_results`.

    Args:
        runs: run name (e.g. "UMDF", "w/o L_fea") -> seed -> the protocol's
            results for that seed (`evaluate_protocol`).
        kind: the task kind ("regression", "classification", "multi_label").
        dataset: facts about the data, e.g. {"name": "mosi", "split": "test",
            "num_samples": 686}.
        config: the configuration that produced the results (training
            settings, model arguments, ...).
        label_names: multi-label only: the K label names.
        baseline: the constant prediction's record on the same split
            (`mean_baseline`), shown as the last row of every table.

    Returns:
        A dict with "keras_umdf_results" (the layout version), "created",
        "environment", "task", "label_names", "dataset", "config", "seeds",
        "runs": name -> {"seeds": {seed: results}, "summary": mean and
        std over seeds (`aggregate_seeds`)}, and "baseline" (None without one).
    """
    if kind not in TASK_KINDS:
        raise ValueError(f"kind must be one of {TASK_KINDS}; received kind={kind!r}.")
    if not runs:
        raise ValueError("results_document needs at least one run; received none.")
    seeds = sorted({int(s) for per_seed in runs.values() for s in per_seed})
    document_runs = {}
    for name, per_seed in runs.items():
        if not per_seed:
            raise ValueError(f"Run {name!r} has no seed's results.")
        ordered = {int(s): per_seed[s] for s in sorted(per_seed, key=int)}
        document_runs[name] = {
            "seeds": ordered,
            "summary": aggregate_seeds(list(ordered.values())),
        }
    return {
        "keras_umdf_results": RESULTS_FORMAT,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "environment": environment_info(),
        "task": kind,
        "label_names": list(label_names or IEMOCAP_EMOTIONS)
        if kind == "multi_label"
        else None,
        "dataset": dict(dataset or {}),
        "config": dict(config or {}),
        "seeds": seeds,
        "runs": document_runs,
        "baseline": dict(baseline) if baseline else None,
    }


def results_markdown(document: Mapping) -> str:
    """The Markdown report of a results document: the Table 1/2 layout of every
    run, the Table 3 layout when there are several runs, the frame-drop curves
    as a table, and the versions. Each table ends with the constant baseline's
    row when the document has one, explained under the first table."""
    kind = document["task"]
    baseline = document.get("baseline")
    names = document.get("label_names") or IEMOCAP_EMOTIONS
    runs = document["runs"]
    dataset = document.get("dataset") or {}
    seeds = document.get("seeds") or []
    title = dataset.get("name", "dataset")
    lines = [f"# Results on {title}", ""]
    facts = []
    if dataset.get("split"):
        facts.append(f"{dataset['split']} split")
    if dataset.get("num_samples"):
        facts.append(f"{dataset['num_samples']} samples")
    if seeds:
        plural = "s" if len(seeds) > 1 else ""
        facts.append(f"seed{plural} {', '.join(map(str, seeds))}")
        if len(seeds) > 1:
            facts.append("mean ± std over seeds")
    if facts:
        lines += ["; ".join(facts) + ".", ""]
    summaries = {name: run["summary"] for name, run in runs.items()}
    conditions = {
        name: summary["conditions"]
        for name, summary in summaries.items()
        if "conditions" in summary
    }
    if conditions:
        lines += ["## Inter-modality missingness", ""]
        rows = with_baseline_row(conditions, baseline)
        if kind == "multi_label":
            lines += [
                "Table 2 layout: per emotion, the weighted F1 (%) of absent / present.",
                "",
                emotion_table(rows, label_names=names),
            ]
        else:
            metrics = headline_metrics(kind)
            note = (
                "Table 1 layout: MAE (lower is better) / F1 (%) of positive "
                "against negative sentiment, neutral clips left out (Non0 F1)."
                if kind == "regression"
                else "Accuracy (%) / weighted F1 (%)."
            )
            lines += [note, "", markdown_table(rows, metrics=metrics)]
        lines.append("")
        if baseline:
            lines += [baseline["description"], ""]
        if len(conditions) > 1:
            metric = summary_metric(kind)
            lines += [
                "## Ablations",
                "",
                f"Table 3 layout: {metric_label(metric)} (%).",
                "",
                single_metric_table(rows, metric),
                "",
            ]
    curves = {
        name: summary["frame_drop"]
        for name, summary in summaries.items()
        if "frame_drop" in summary
    }
    if curves:
        lines += [
            "## Intra-modality missingness",
            "",
            "Frames dropped at rate p, all modalities present (Figures 3-5).",
            "",
            frame_drop_table(
                with_baseline_row(curves, baseline),
                metrics=headline_metrics(kind, label_names=names),
            ),
            "",
        ]
        if baseline and not conditions:
            lines += [baseline["description"], ""]
    env = document.get("environment") or {}
    if env:
        lines += [
            f"keras_umdf {env.get('keras_umdf')}, Keras {env.get('keras')}, "
            f"{env.get('backend')} {env.get('backend_version')}, NumPy "
            f"{env.get('numpy')}, Python {env.get('python')}.",
            "",
        ]
    return "\n".join(lines)


def json_ready(value):
    """`value` with NumPy numbers as Python ones, NaN/inf as None and float
    keys (frame-drop rates) as strings: what `json.dumps` writes strictly."""
    if isinstance(value, Mapping):
        return {_json_key(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    return value


def _json_key(key) -> str:
    if isinstance(key, (float, np.floating)):
        return repr(round(float(key), 6))
    return str(key)


def write_results(
    document: Mapping, directory, *, stem: str = "results", overwrite: bool = False
) -> tuple[str, str]:
    """Writes a results document as `<stem>.json` and `<stem>.md`.

    NaN (an undefined metric) is written as JSON `null`, so that any JSON
    parser reads the file. Each file is written to a temporary name and then
    renamed, so an interrupted write never leaves half a file.

    Args:
        document: from `results_document`.
        directory: the folder (created if missing).
        stem: the file names' stem.
        overwrite: replace existing files (default: refuse).

    Returns:
        The paths of the JSON and Markdown files.

    Raises:
        FileExistsError: a file exists and `overwrite` is False.
    """
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    json_path = os.path.join(directory, f"{stem}.json")
    md_path = os.path.join(directory, f"{stem}.md")
    if not overwrite:
        for path in (json_path, md_path):
            if os.path.exists(path):
                raise FileExistsError(
                    f"{path!r} already exists; choose another directory or pass "
                    "overwrite=True (--overwrite) to replace it."
                )
    text = json.dumps(json_ready(document), indent=2, allow_nan=False)
    write_text_atomically(json_path, text + "\n")
    write_text_atomically(md_path, results_markdown(document))
    return json_path, md_path


def write_text_atomically(path: str, text: str) -> None:
    """Writes `text` to `path` through a temporary file and a rename."""
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def read_results(path) -> dict:
    """Reads a results JSON written by `write_results`.

    JSON `null` metrics come back as NaN and the frame-drop rates as floats,
    so the document is as `results_document` made it (seeds as ints).

    Raises:
        ValueError: the file is not a keras_umdf results file.
    """
    with open(path) as file:
        document = json.load(file)
    if not isinstance(document, dict) or "keras_umdf_results" not in document:
        raise ValueError(
            f"{os.fspath(path)!r} is not a keras_umdf results file (no "
            "'keras_umdf_results' key)."
        )
    for run in document.get("runs", {}).values():
        run["seeds"] = {
            int(s): protocol_results_from_json(r) for s, r in run["seeds"].items()
        }
        run["summary"] = protocol_results_from_json(run["summary"])
    if document.get("baseline"):
        document["baseline"]["metrics"] = _nan(document["baseline"]["metrics"])
    return document


def protocol_results_from_json(results: dict) -> dict:
    """Undoes `json_ready` on one run's protocol results: null metrics become
    NaN and the frame-drop rates floats."""
    out = {}
    for part, value in results.items():
        if part == "frame_drop":
            out[part] = {float(p): _nan(m) for p, m in value.items()}
        elif part == "conditions":
            out[part] = {c: _nan(m) for c, m in value.items()}
        else:
            out[part] = value
    return out


def _nan(metrics: dict) -> dict:
    return {k: math.nan if v is None else v for k, v in metrics.items()}
